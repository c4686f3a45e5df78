"""A hand-written PGD adversarial training of a small CNN on digits, to check archopt's against.

Pure PyTorch (archopt only loads the data, so that the train/val/test split is the one archopt's
runs use, seed 42): pixels / 16 in [0, 1], conv 32 - conv 64 (3x3, batch norm, ReLU, max pool)
- dense 128 - 10; Madry et al. PGD training (L-inf eps 0.2, 10 steps of 2.5 eps / steps, random
start, clipped to [0, 1]); evaluated on the test split with PGD-40 (the same step rule, random
start, an example counts as broken when any iterate misclassifies it).

    nice -n 5 .venv/bin/python benchmarks/robust/reference_pgd.py [--method pgd|fgsm_rs|none]
        [--bn-attack eval|train] [--recipe adam|archopt] [--epochs 30] [--seed 42]

``--recipe adam``: Adam lr 1e-3, no augmentation, no dropout (a textbook recipe);
``--recipe archopt``: the example's recipe (AdamW 0.005, weight decay 0.01, one-cycle with 20%
warm-up, random shifts of one pixel, dropout 0.2), to tell the recipe from the implementation.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn


def digits(seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """archopt's digits splits (val 0.1, seeded like a run), back in [0, 1]."""
    from archopt.data import load_data

    ds = load_data({"name": "digits", "val_split": 0.1}, seed)
    mean = torch.tensor(ds.normalization["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(ds.normalization["std"]).view(1, -1, 1, 1)
    return {name: ((s.x * std + mean) / 16.0, s.y)
            for name, s in (("train", ds.train), ("val", ds.val), ("test", ds.test))}


def small_cnn(dropout: float) -> nn.Module:
    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2), nn.Dropout(dropout)]

    return nn.Sequential(*stage(1, 32), *stage(32, 64), nn.Flatten(),  # (B, 64 * 2 * 2)
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, 10))


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int,
        alpha: float, track: bool = False) -> torch.Tensor:
    """L-inf PGD from a uniform random start in [0, 1]; with ``track``, the first iterate that
    misclassifies each example (else the last)."""
    xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    best, broken = xa.clone(), torch.zeros(len(x), dtype=torch.bool)
    for _ in range(steps):
        xa.requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(xa), y), xa)
        xa = torch.min(torch.max(xa.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
        if track:
            with torch.no_grad():
                wrong = model(xa).argmax(1) != y
            best[wrong & ~broken] = xa[wrong & ~broken]
            broken |= wrong
    if track:
        best[~broken] = xa[~broken]
        return best
    return xa


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float = 0.0,
             steps: int = 40) -> float:
    model.eval()
    if eps > 0:
        x = pgd(model, x, y, eps, steps, 2.5 * eps / steps, track=True)
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def shift(x: torch.Tensor) -> torch.Tensor:
    """Each image moved by up to one pixel in each direction (zeros come in)."""
    out = torch.zeros_like(x)
    p = F.pad(x, (1, 1, 1, 1))
    dx, dy = torch.randint(0, 3, (2, len(x)))
    for i in range(len(x)):
        out[i] = p[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="pgd", choices=["pgd", "fgsm_rs", "none"])
    ap.add_argument("--bn-attack", default="eval", choices=["eval", "train"])
    ap.add_argument("--recipe", default="adam", choices=["adam", "archopt"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--eps", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(1)
    d = digits(42)
    torch.manual_seed(a.seed)
    x, y = d["train"]
    arch = a.recipe == "archopt"
    model = small_cnn(0.2 if arch else 0.0)
    steps_per_epoch = (len(x) + 63) // 64
    if arch:
        opt = torch.optim.AdamW(model.parameters(), lr=0.005, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.005, total_steps=a.epochs *
                                                    steps_per_epoch, pct_start=0.2)
    else:
        opt, sched = torch.optim.Adam(model.parameters(), lr=1e-3), None
    eps, train_time = a.eps, 0.0
    for _ in range(a.epochs):
        t0 = time.process_time()
        for idx in torch.randperm(len(x)).split(64):
            xb, yb = x[idx], y[idx]
            if arch:
                xb = shift(xb)
            if a.method != "none":
                model.train(a.bn_attack == "train")  # 1) the attack: BN eval (or train) mode
                if a.method == "pgd":
                    xb = pgd(model, xb, yb, eps, 10, 2.5 * eps / 10)
                else:
                    xb = pgd(model, xb, yb, eps, 1, 1.25 * eps)
            model.train()  # 2) the step on the attacked batch, in train mode
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        train_time += time.process_time() - t0
    xt, yt = d["test"]
    out = {"method": a.method, "recipe": a.recipe, "bn_attack": a.bn_attack, "seed": a.seed,
           "epochs": a.epochs, "train_cpu_s": round(train_time, 1),
           "val_clean": accuracy(model, *d["val"]), "test_clean": accuracy(model, xt, yt),
           "test_pgd40": accuracy(model, xt, yt, 0.2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
