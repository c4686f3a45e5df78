"""Serve a run or an exported model over HTTP (FastAPI + uvicorn) until Ctrl-C or SIGTERM.

  archopt serve runs/mnist1d-cnn/20250101-120000          # exports to ONNX first if needed
  archopt serve RUN_DIR/export/onnx --port 8080 --max-batch 32
  curl -s localhost:8000/v1/predict -H 'content-type: application/json' \\
       -d '{"inputs": [[0.1], [0.3], ...]}'

Endpoints: POST /v1/predict, GET /v1/health, /v1/ready, /v1/metadata, /metrics, /docs.
Binds to 127.0.0.1 (this machine only) unless --host says otherwise. Concurrent requests are
micro-batched (--max-batch 1 turns it off); a full queue answers 503, bad requests 4xx.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="RUN_DIR|ARTIFACT",
                   help="a run directory, or a folder made by `archopt export`")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--backend", choices=["onnxruntime", "torch"],
                   help="onnxruntime (default for ONNX and runs) or torch")
    p.add_argument("--max-batch", type=int, default=64, metavar="N",
                   help="most examples per model call; 1 turns batching off (default 64)")
    p.add_argument("--max-wait-ms", type=float, default=0.0, metavar="T",
                   help="how long a batch waits for more requests (default 0: a batch takes "
                        "the requests that queued while the model was busy)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes (default 1)")
    p.add_argument("--max-queue", type=int, default=256, metavar="N",
                   help="requests waiting before 503 (default 256)")
    p.add_argument("--max-examples", type=int, default=1024, metavar="N",
                   help="examples in one request before 413 (default 1024)")
    p.add_argument("--max-body-mb", type=float, default=16.0, metavar="MB",
                   help="request body size before 413 (default 16)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="model threads per process (default: the runtime's choice)")


def run(args: argparse.Namespace) -> int:
    from archopt.serve import serve

    return serve(args.target, args.host, args.port, args.backend, args.max_batch,
                 args.max_wait_ms, args.workers, args.max_queue, args.max_examples,
                 args.max_body_mb, args.threads, quiet=args.quiet)
