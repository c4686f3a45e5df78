"""Serving: a FastAPI app over an exported artifact or a run, with request validation, dynamic
micro-batching, health/readiness/metadata endpoints and Prometheus metrics.

``serve(target)`` runs it under uvicorn on 127.0.0.1; ``create_app(load_served_model(target))``
gives the app itself (tests, embedding in another ASGI server).
"""

from archopt.callable_package import make_callable
from archopt.serve.app import ServeSettings, create_app
from archopt.serve.model import load_served_model
from archopt.serve.server import serve

__all__ = ["ServeSettings", "create_app", "load_served_model", "serve"]

make_callable(__name__, serve)
