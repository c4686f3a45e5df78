"""A recurrence over zero-padded sequences that computes what packing computes, without packing.

``pack_padded_sequence`` sorts by length at run time, which the exporters (ONNX, torch.export,
TorchScript) cannot follow. ``PaddedRNN`` shares the weights of an ``nn.RNN/LSTM/GRU`` and gives
the same outputs on a padded batch with ``lengths``: forward directions run over the padded batch
(a step's output only depends on the steps before it); backward directions run over each sequence
reversed within its own length, so they start at its true end. Outputs past a sequence's end are
zero and the final state is the state at its true end, as with packing.
"""

from __future__ import annotations

import torch
from torch import nn


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, F): each sequence's first ``length`` steps reversed; padded steps stay in place."""
    B, T, F = x.shape
    steps = torch.arange(T, device=x.device)[None, :]  # (1, T)
    last = lengths[:, None] - 1  # (B, 1)
    index = torch.where(steps <= last, last - steps, steps)  # (B, T); its own inverse
    return torch.gather(x, 1, index[:, :, None].expand(B, T, F))


def _at(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, T, H) at one time index per sequence -> (B, H)."""
    B, _, H = x.shape
    return torch.gather(x, 1, index.view(B, 1, 1).expand(B, 1, H)).squeeze(1)


class PaddedRNN(nn.Module):
    """``forward(x, lengths) -> (out, h_n)`` with packing's results for a batch-first RNN."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        assert rnn.batch_first, "archopt's recurrent layers are batch first"
        self.layers, self.dirs = rnn.num_layers, 2 if rnn.bidirectional else 1
        kwargs = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        cells = []
        for layer in range(self.layers):
            for d in range(self.dirs):
                size = rnn.input_size if layer == 0 else rnn.hidden_size * self.dirs
                cell = type(rnn)(size, rnn.hidden_size, 1, bias=rnn.bias, batch_first=True,
                                 **kwargs)
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                with torch.no_grad():
                    for name, p in cell.named_parameters():  # weight_ih_l0 <- weight_ih_l{k}...
                        p.copy_(getattr(rnn, name.replace("_l0", suffix)))
                cells.append(cell)
        self.cells = nn.ModuleList(cells)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(x.device).long().clamp(min=1, max=x.shape[1])
        valid = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None])
        valid = valid.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        last = lengths - 1
        finals = []
        for layer in range(self.layers):
            outs = []
            for d in range(self.dirs):
                cell = self.cells[layer * self.dirs + d]
                seq = x if d == 0 else reverse_within_length(x, lengths)
                out, _ = cell(seq)  # (B, T, H)
                finals.append(_at(out, last))  # the state at the sequence's true end
                outs.append(out if d == 0 else reverse_within_length(out, lengths))
            x = torch.cat(outs, dim=2) * valid  # (B, T, H * dirs), zero past the end
        return x, torch.stack(finals)  # (B, T, H * dirs), (layers * dirs, B, H)
