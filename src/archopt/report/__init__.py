"""Reports on models and runs: ``profile`` (parameters, FLOPs, memory, measured latency) and
``report`` (one self-contained HTML page of a run, a study or several runs).

``archopt.report(...)`` is both this package and the function: importing a submodule makes the
package an attribute of ``archopt``, so the package itself is callable and calls ``report``.
"""

from archopt.callable_package import make_callable
from archopt.report.build import report
from archopt.report.profile import count_flops, measure_latency, profile, profile_model

__all__ = ["count_flops", "measure_latency", "profile", "profile_model", "report"]

make_callable(__name__, report)
