"""``rnn``: a recurrent encoder (rnn | lstm | gru) over sequences (B, T, F), pooled, then a head.

Blocks: ``nn.RNN/LSTM/GRU`` (batch first), ``AttentionPool``, ``dense_stack``.
Variable-length batches are packed with ``pack_padded_sequence`` when ``lengths`` is given, so
padding never enters the recurrence; ``last`` then is the state at each sequence's true end.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from archopt.data.dataset import DataShape
from archopt.models.base import FamilyConfig, LengthAwareClassifier, head_layer
from archopt.models.blocks import AttentionPool, dense_stack, masked_mean, padding_mask
from archopt.models.blocks.act import ActName
from archopt.models.blocks.padded_rnn import PaddedRNN
from archopt.registry import MODELS

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNConfig(FamilyConfig):
    """A recurrent encoder with a pooling over time."""

    kinds = ("sequence",)
    cell: Literal["rnn", "lstm", "gru"] = Field("gru", description="recurrent cell")
    hidden: int = Field(64, gt=0, description="state size per direction")
    layers: int = Field(1, ge=1, description="stacked recurrent layers")
    bidirectional: bool = Field(False, description="also read the sequence backwards")
    pooling: Literal["last", "mean", "attention", "flatten"] = Field(
        "last", description="final state | mean over steps | attention | all steps flattened")
    head: list[int] = Field([], description="hidden layer sizes of the head")
    activation: ActName = Field("relu", description="nonlinearity of the head's hidden layers")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="between layers and in the head")


class RNNEncoder(nn.Module):
    """(B, T, F) [+ lengths] -> (B, D): the recurrence, then pooling over time."""

    def __init__(self, cfg: RNNConfig, features: int, steps: int) -> None:
        super().__init__()
        self.pooling, self.steps = cfg.pooling, steps
        self.rnn = CELLS[cfg.cell](features, cfg.hidden, cfg.layers, batch_first=True,
                                   bidirectional=cfg.bidirectional,
                                   dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.dirs = 2 if cfg.bidirectional else 1
        width = cfg.hidden * self.dirs
        self.attn = AttentionPool(width) if cfg.pooling == "attention" else None
        self.out_features = width * steps if cfg.pooling == "flatten" else width
        self.padded: PaddedRNN | None = None  # set by without_packing()

    def without_packing(self) -> None:
        """Compute variable-length batches without packing (same results; exportable)."""
        self.padded = PaddedRNN(self.rnn)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        B, T, _ = x.shape
        if lengths is not None and self.padded is not None:
            out, state = self.padded(x, lengths)
        elif lengths is not None:
            packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True,
                                          enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        else:
            out, state = self.rnn(x)  # (B, T, H * dirs)
        if self.pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
            return torch.cat(list(h[-self.dirs:]), dim=1)  # (B, H * dirs)
        mask = padding_mask(lengths, T)
        if self.pooling == "mean":
            return masked_mean(out, mask)
        if self.pooling == "attention":
            return self.attn(out, mask)
        return out.reshape(B, -1)  # flatten: (B, T * H * dirs), zeros at padded steps


class RNN(LengthAwareClassifier):
    """recurrent encoder + pooling (features) -> dense head; ``forward(x, lengths=None)``."""


def _build_rnn(cfg: RNNConfig, shape: DataShape) -> RNN:
    steps, feats = shape.input_shape
    encoder = RNNEncoder(cfg, feats, steps)
    size = encoder.out_features
    hidden = dense_stack(size, cfg.head, cfg.activation, "none", cfg.dropout)
    head = nn.Sequential(*hidden, head_layer(cfg.head[-1] if cfg.head else size, shape))
    return RNN(encoder, head)


@MODELS.register("rnn", config=RNNConfig)
def rnn(cfg: RNNConfig, shape: DataShape) -> RNN:
    """Recurrent net (rnn | lstm | gru), bidirectional, pooled by last | mean | attention."""
    return _build_rnn(cfg, shape)
