"""Callbacks registered in CALLBACKS: early stopping, checkpointing, history, progress,
TensorBoard. Each is a small module; ``call`` dispatches a hook to a list of them."""

from archopt.train.callbacks import checkpointing, early_stopping, history, progress, tensorboard
from archopt.train.callbacks._base import Callback, call

__all__ = ["Callback", "call", "checkpointing", "early_stopping", "history", "progress",
           "tensorboard"]
