"""The FastAPI app over a served model.

  POST /v1/predict   {"inputs": [...]} (one example or a list) -> {"predictions": [...]}
  GET  /v1/health    the process is up             GET /v1/ready   ready for traffic (503 while
  GET  /v1/metadata  inputs, outputs, classes          starting or draining)
  GET  /metrics      Prometheus text: requests, latency, batch sizes, queue length
  GET  /docs         OpenAPI
Bad requests get a 4xx with ``{"detail": "<what is wrong>"}`` (400 malformed JSON, 413 too
large, 415 not JSON, 422 wrong shape/type/values), 503 when the queue is full; the server keeps
serving. Only a bug answers 500.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from archopt.serve.batcher import MicroBatcher, Overloaded
from archopt.serve.metrics import ServerMetrics
from archopt.serve.model import ServedModel
from archopt.serve.validate import RequestError, parse_inputs


@dataclass
class ServeSettings:
    """Limits and batching of one server."""

    max_batch: int = 64             # most examples per model call; 1 turns batching off
    max_wait_ms: float = 0.0        # extra wait for more requests (0: what is queued)
    max_queue: int = 256            # requests waiting; more get 503
    max_examples: int = 1024        # examples in one request; more get 413
    max_body_bytes: int = 16 << 20  # request body; more gets 413


class PredictRequest(BaseModel):
    """One example (nested lists of the input shape, see /v1/metadata) or a list of them."""

    model_config = {"extra": "forbid"}
    inputs: list[Any] = Field(description="one example, or a list of examples")


class PredictResponse(BaseModel):
    """One prediction per example, in order (a list of one for a single example)."""

    predictions: list[dict[str, Any]]


def format_predictions(out: np.ndarray, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Model outputs -> one JSON object per example."""
    task = meta["task"]
    if task == "classification":
        names = meta.get("class_names") or [str(i) for i in range(out.shape[1])]
        idx = out.argmax(1)
        return [{"class": names[i], "class_index": int(i), "probabilities": row.tolist()}
                for i, row in zip(idx, out)]
    key = {"regression": "values", "reconstruction": "reconstruction",
           "generation": "sample"}[task]
    return [{key: row.tolist()} for row in out]


async def read_body(receive: Any, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The body from ASGI ``receive``, or a 413 as soon as it passes ``limit`` bytes (never
    read further)."""
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"body: {int(declared)} bytes; at most {limit}")
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise RequestError(400, "body: the client disconnected before sending it all")
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body: more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(body: bytes, content_type: str) -> Any:
    """The ``inputs`` of a JSON body, or a RequestError (415, 400, 422)."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestError(415, f"content type '{content_type or 'none'}': send "
                           "application/json")
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, f"body: malformed JSON ({str(exc)[:120]})") from None
    if not isinstance(obj, dict) or "inputs" not in obj:
        raise RequestError(422, 'body: must be a JSON object {"inputs": [...]}')
    extra = sorted(set(obj) - {"inputs"})
    if extra:
        raise RequestError(422, f"body: unknown field(s) {', '.join(map(repr, extra))}; only "
                           "'inputs' is read")
    return obj["inputs"]


class CountRequests:
    """Requests, their status and latency, and those in flight, into the server's metrics.

    A plain ASGI middleware: FastAPI's ``@app.middleware("http")`` runs each request through a
    second task and streams the response through a queue, which cost more CPU than the model
    call of a small network.
    """

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(scope["path"], status, time.perf_counter() - start)


class PredictFastPath:
    """``POST /v1/predict`` answered here, before FastAPI's routing, exception middleware and
    dependency machinery, which cost more CPU per request than a small model's call (the route
    stays declared for /docs and OpenAPI). Bad requests get the same 4xx JSON as elsewhere;
    anything else goes on to the app.
    """

    def __init__(self, app: Any, answer: Any) -> None:
        self.app, self.answer = app, answer

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if not (scope["type"] == "http" and scope["path"] == "/v1/predict"
                and scope["method"] == "POST"):
            await self.app(scope, receive, send)
            return
        try:
            status, body = 200, await self.answer(receive, dict(scope["headers"]))
        except RequestError as exc:
            status, body = exc.status, json.dumps({"detail": exc.message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_app(served: ServedModel, settings: ServeSettings | None = None) -> FastAPI:
    """The app; the batcher starts and stops with it (lifespan)."""
    settings = settings or ServeSettings()
    metrics = ServerMetrics()
    state: dict[str, Any] = {"ready": False, "draining": False, "batcher": None}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher = MicroBatcher(served.predict, settings.max_batch, settings.max_wait_ms,
                               settings.max_queue, on_batch=metrics.batch_size.observe)
        batcher.start()
        metrics.queue_length.set_function(lambda: batcher.waiting)
        state.update(batcher=batcher, ready=True)
        try:
            yield
        finally:
            state["ready"] = False
            await batcher.stop()
            served.close()  # a temporary export, if the server made one

    app = FastAPI(title="archopt model server", lifespan=lifespan,
                  description=f"{served.metadata['task']} model from {served.source}, "
                              f"backend {served.backend}")
    app.state.archopt = state

    async def answer(receive: Any, headers: dict[bytes, bytes]) -> bytes:
        """The JSON answer to one predict request, or a RequestError."""
        body = await read_body(receive, headers, settings.max_body_bytes)
        inputs = parse_body(body, headers.get(b"content-type", b"").decode("latin-1"))
        batch = parse_inputs(inputs, served.metadata, settings.max_examples)
        batcher: MicroBatcher | None = state["batcher"]
        if batcher is None or not state["ready"]:
            raise RequestError(503, "the server is not ready; retry shortly")
        try:
            out = await batcher.submit(batch.x, batch.lengths)
        except Overloaded:
            metrics.rejected.inc()
            raise RequestError(503, f"busy: {settings.max_queue} requests are waiting; retry "
                               "shortly") from None
        metrics.examples.inc(len(batch.x))
        # the documented PredictResponse, serialized here: FastAPI would validate it field by
        # field through pydantic first, which costs more than the model call of a small network
        return json.dumps({"predictions": format_predictions(out, served.metadata)},
                          separators=(",", ":")).encode()

    app.add_middleware(PredictFastPath, answer=answer)
    app.add_middleware(CountRequests, metrics=metrics)

    @app.exception_handler(RequestError)
    async def bad_request(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.post("/v1/predict", response_model=PredictResponse,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PredictRequest.model_json_schema()}}}},
              responses={400: {"description": "malformed JSON"},
                         413: {"description": "body or number of examples too large"},
                         415: {"description": "not application/json"},
                         422: {"description": "inputs of the wrong shape, type or value"},
                         503: {"description": "queue full or shutting down; retry later"}})
    async def predict(request: Request) -> Response:
        """Predict for one example or a list of examples."""
        # reached only without PredictFastPath in front (which answers these requests)
        return Response(await answer(request.receive, dict(request.scope["headers"])),
                        media_type="application/json")

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        """The process is up (liveness)."""
        return {"status": "ok"}

    @app.get("/v1/ready")
    async def ready() -> JSONResponse:
        """Ready for traffic: the model is loaded and the server is not shutting down."""
        ok = state["ready"] and not state["draining"]
        return JSONResponse({"ready": ok, "draining": state["draining"]},
                            status_code=200 if ok else 503)

    @app.get("/v1/metadata")
    async def metadata() -> dict[str, Any]:
        """What the model takes and returns, its classes, where it came from, and limits."""
        return {**served.metadata, "server": {"backend": served.backend,
                                              "source": served.source, **asdict(settings)}}

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus text format."""
        return Response(metrics.render(), media_type=metrics.content_type)

    return app
