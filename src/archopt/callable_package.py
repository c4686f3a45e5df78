"""Packages that are also API functions: ``archopt.tune(spec)`` next to ``archopt.tune.engine``.

Once ``archopt.X.something`` is imported, Python binds ``archopt.X`` to the package, hiding the
function of the same name that ``archopt.__getattr__`` would give; the package then forwards
calls to that function.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Make the module ``module_name`` callable: calling it calls ``function``."""

    class CallablePackage(types.ModuleType):
        __doc__ = sys.modules[module_name].__doc__

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = CallablePackage
