"""Explanations of a run's predictions, checked before they are shown (``archopt explain``).

``explain(run_dir, ...)`` attributes the model's output to the user's raw inputs with Captum's
methods (integrated gradients, gradient SHAP, Kernel SHAP, LIME, saliency, occlusion, Grad-CAM)
and attention weights (rnn attention pooling, transformer attention rollout), and checks each
explanation: completeness (integrated gradients), deletion curves against random orders, the
randomization sanity check.

Modules: ``subject`` (the run as a function of raw inputs), ``groups`` (feature groups per kind
of data), ``methods``, ``attention``, ``checks``, ``global_view`` (tabular), ``select``
(methods, examples, targets), ``record`` and ``plots`` (what is written), ``api`` (``explain``).
"""

from archopt.callable_package import make_callable
from archopt.explain.api import explain
from archopt.explain.methods import METHODS

__all__ = ["METHODS", "explain"]

make_callable(__name__, explain)  # archopt.explain(...) after `import archopt.explain.x` too
