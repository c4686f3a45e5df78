"""Reusing what a model has learned: start from a run's weights (``init``), freeze and unfreeze
parts with their own learning rates (``freeze``, ``lr_groups``), learn without labels
(``contrastive``; autoencoders are the other pretext), and few-shot learning (``episodes`` for
prototypical training, ``fewshot`` for N-way K-shot evaluation).

Import the submodules; this package imports nothing, so the spec can use ``transfer.schema``
without torch.
"""
