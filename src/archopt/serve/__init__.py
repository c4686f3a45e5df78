"""Serving: a FastAPI app over an exported artifact or a run, with request validation, dynamic
micro-batching, health/readiness/metadata endpoints and Prometheus metrics.

``serve(target)`` runs it under uvicorn on 127.0.0.1; ``create_app(load_served_model(target))``
gives the app itself (tests, embedding in another ASGI server).
"""

import sys
import types

from archopt.serve.app import ServeSettings, create_app
from archopt.serve.model import load_served_model
from archopt.serve.server import serve

__all__ = ["ServeSettings", "create_app", "load_served_model", "serve"]


class _CallablePackage(types.ModuleType):
    """``archopt.serve(...)`` calls ``serve``: once this package is imported, Python binds
    ``archopt.serve`` to it, not to the function of the same name,
    so the package forwards calls."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return serve(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
