"""Robustness: accuracy under noise, corruptions and adversarial attacks in raw input units
(``robustness``), and adversarial training (``train.adversarial``, ``archopt.robust.training``).
"""

from archopt.robust.run import robustness

__all__ = ["robustness"]
