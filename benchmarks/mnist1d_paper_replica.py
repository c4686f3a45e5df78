"""A hand-written replica of the MNIST-1D paper's training script for its CNN, outside archopt.

It takes batches in the data's fixed order (``bix = step * 100 % 4000``), Adam 1e-2, 6000 steps,
test accuracy every 250 steps. ``--shuffle`` draws a new order every epoch instead, as archopt
does by default. Used to tell whether a gap to the paper's 94% is archopt's or the recipe's.

Run: .venv/bin/python benchmarks/mnist1d_paper_replica.py [--shuffle] SEED [SEED ...]
"""

import sys

import numpy as np
import torch
import torch.nn as nn
from mnist1d.data import get_dataset_args, make_dataset

torch.set_num_threads(1)
d = make_dataset(get_dataset_args())
x, xt = torch.Tensor(d["x"]), torch.Tensor(d["x_test"])
y, yt = torch.LongTensor(d["y"]), torch.LongTensor(d["y_test"])
SHUFFLE = "--shuffle" in sys.argv


class ConvBase(nn.Module):
    """The paper's CNN: 3 strided conv1d of 25 channels, ReLU, flatten, linear (5,210 params)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(1, 25, 5, 2, 1)
        self.c2 = nn.Conv1d(25, 25, 3, 2, 1)
        self.c3 = nn.Conv1d(25, 25, 3, 2, 1)
        self.lin = nn.Linear(125, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, x.shape[-1])  # (B, 1, 40)
        h = self.c3(self.c2(self.c1(x).relu()).relu()).relu()
        return self.lin(h.view(x.shape[0], -1))


for seed in [int(a) for a in sys.argv[1:] if not a.startswith("--")]:
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = ConvBase()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    accs = []
    for step in range(6001):
        epoch, b = divmod(step, 40)
        if SHUFFLE:
            if b == 0:
                gen = torch.Generator().manual_seed(seed * 1000 + epoch)
                perm = torch.randperm(4000, generator=gen)
            idx = perm[b * 100:(b + 1) * 100]
        else:
            idx = torch.arange(b * 100, (b + 1) * 100)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step % 250 == 0:
            with torch.no_grad():
                accs.append((model(xt).argmax(1) == yt).float().mean().item())
    print(f"seed {seed}: final {accs[-1]:.3f}  max {max(accs):.3f}", flush=True)
