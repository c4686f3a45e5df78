"""``serve(target)``: run the app under uvicorn on 127.0.0.1 (by default) until SIGINT/SIGTERM.

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish (``/v1/ready``
answers 503 meanwhile), stops the batcher, then re-raises the signal (exit status 143 in a
shell, as process supervisors expect). With ``workers > 1`` uvicorn runs that many
processes on one port; each loads the artifact (a run is exported once, before they start) and
drains the same way when the supervisor passes SIGTERM on.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.serve.app import ServeSettings, create_app
from archopt.serve.model import ServedModel, load_served_model

ENV = "ARCHOPT_SERVE_WORKER"  # how worker processes learn what to serve
GRACE_S = 30  # in-flight requests get this long to finish after SIGTERM


def _server_class() -> type:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """A uvicorn server that marks the app as draining as soon as a signal arrives."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            state = getattr(getattr(self.config.app, "state", None), "archopt", None)
            if state is not None:
                state["draining"] = True
            super().handle_exit(sig, frame)

    return DrainingServer


def app_from_env() -> Any:
    """The app of a worker process (uvicorn ``factory=True``), from ``ARCHOPT_SERVE_WORKER``.

    uvicorn's supervisor runs its own ``Server`` class in each worker, so the worker marks its
    app as draining from the signal handlers instead (see ``drain_on_signals``)."""
    cfg = json.loads(os.environ[ENV])
    served = load_served_model(cfg["target"], cfg["backend"], cfg["threads"])
    app = create_app(served, ServeSettings(**cfg["settings"]))
    drain_on_signals(app.state.archopt)
    return app


def drain_on_signals(state: dict[str, Any]) -> None:
    """Mark the app as draining (``/v1/ready`` answers 503) when SIGINT or SIGTERM arrives,
    then pass the signal to the handler already installed: uvicorn installs its own before it
    calls the app factory, and puts back the originals when it stops."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            state["draining"] = True
            previous(signum, frame)

        signal.signal(sig, handler)


def serve(target: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
          backend: str | None = None, max_batch: int = 64, max_wait_ms: float = 0.0,
          workers: int = 1, max_queue: int = 256, max_examples: int = 1024,
          max_body_mb: float = 16.0, threads: int | None = None, quiet: bool = False) -> int:
    """Serve an artifact folder or a run directory over HTTP; returns when stopped.

    Args:
        target: a folder made by ``archopt export``, or a run directory.
        host: the interface to bind (127.0.0.1: this machine only; see the README for a proxy).
        port: the TCP port.
        backend: ``onnxruntime`` (default for ONNX and runs) or ``torch``.
        max_batch: most examples per model call; 1 turns micro-batching off.
        max_wait_ms: how long a batch waits for more requests (0: it takes those queued).
        workers: uvicorn worker processes.
        max_queue: requests waiting before the server answers 503.
        max_examples: examples in one request before it answers 413.
        max_body_mb: request body size before it answers 413.
        threads: intra-op threads of the model per process (default: the runtime's choice).
        quiet: only warnings from uvicorn.

    Raises:
        UserError: a bad target, backend or setting.
    """
    import uvicorn

    for name, value, low in (("--max-batch", max_batch, 1), ("--workers", workers, 1),
                             ("--max-queue", max_queue, 1), ("--max-examples", max_examples, 1),
                             ("--port", port, 0)):
        if value < low:
            raise UserError(name, f"is {value}; it must be at least {low}")
    if max_wait_ms < 0 or max_body_mb <= 0:
        raise UserError("--max-wait-ms/--max-body-mb", "must be positive")
    settings = ServeSettings(max_batch, max_wait_ms, max_queue, max_examples,
                             int(max_body_mb * (1 << 20)))
    served = load_served_model(target, backend, threads)
    log_level = "warning" if quiet else "info"
    if not quiet:
        _announce(served, host, port, settings, workers)
    try:
        if workers == 1:
            config = uvicorn.Config(create_app(served, settings), host=host, port=port,
                                    log_level=log_level, access_log=False,
                                    timeout_graceful_shutdown=GRACE_S)
            _server_class()(config).run()
            return 0
        os.environ[ENV] = json.dumps({"target": served.artifact or served.source,
                                      "backend": served.backend, "threads": threads,
                                      "settings": asdict(settings)})
        uvicorn.run("archopt.serve.server:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level, access_log=False,
                    timeout_graceful_shutdown=GRACE_S)
        return 0
    finally:
        served.close()


def _announce(served: ServedModel, host: str, port: int, settings: ServeSettings,
              workers: int) -> None:
    meta = served.metadata
    shape = "x".join(str(s) for s in meta["inputs"]["shape"][1:])
    print(f"archopt serve: {meta['task']} model from {Path(served.source)} "
          f"(input {meta['inputs']['name']} {shape}, backend {served.backend}, "
          f"{workers} worker(s), batches of up to {settings.max_batch}, "
          f"wait {settings.max_wait_ms:g} ms)", file=sys.stderr)
    print(f"  http://{host}:{port}/v1/predict  /v1/metadata  /docs  /metrics", file=sys.stderr)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  warning: listening on {host}: reachable from other machines; put it behind "
              "a reverse proxy with TLS and authentication (see the README)", file=sys.stderr)
