"""`archopt serve --workers N`: uvicorn's supervisor runs N processes on one port; each worker
marks itself draining (`/v1/ready` 503) when SIGTERM arrives and lets its in-flight requests
finish before it exits."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import archopt

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")


def test_drain_on_signals_marks_the_app_then_calls_the_handler() -> None:
    from archopt.serve.server import drain_on_signals

    seen: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))  # stands for uvicorn's
    try:
        state = {"draining": False}
        drain_on_signals(state)
        assert not state["draining"]
        signal.raise_signal(signal.SIGTERM)
        assert state["draining"] and seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text  # from whichever worker answers
    line = next(v for v in text.splitlines() if v.startswith("archopt_requests_in_flight "))
    return float(line.split()[1]) - 1  # this request itself


def test_two_workers_finish_the_in_flight_request_on_sigterm(tmp_path: Path) -> None:
    spec = archopt.load_spec({"name": "w", "seed": 0, "device": "cpu",
                              "data": {"name": "wine", "batch_size": 64},
                              "model": {"name": "mlp", "hidden": [8]},
                              "train": {"epochs": 1, "threads": 1}})
    run = Path(archopt.fit(spec, out=tmp_path / "run", quiet=True)["run_dir"])
    archopt.export(run)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # a batch waits up to 5 s for company: the request is in flight when SIGTERM arrives
    proc = subprocess.Popen([sys.executable, "-m", "archopt.cli.main", "serve",
                             str(run / "export" / "onnx"), "--port", str(port), "--workers", "2",
                             "--max-wait-ms", "5000", "--max-batch", "256"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        ready = 0
        for _ in range(900):  # bounded: both workers loaded, on a busy machine
            assert proc.poll() is None, proc.stdout.read()
            with contextlib.suppress(httpx.TransportError):
                ready += httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200
            if ready >= 4:
                break
            time.sleep(0.1)
        assert ready >= 4, "server did not become ready"
        result: list[int] = []
        x = [[13.0, 2.0, 2.4, 19.0, 100.0, 2.5, 2.5, 0.3, 1.6, 5.0, 1.0, 3.0, 1000.0]]
        client = threading.Thread(target=lambda: result.append(
            httpx.post(f"{url}/v1/predict", json={"inputs": x}, timeout=60).status_code))
        client.start()
        held = False
        for _ in range(600):  # bounded: until the worker holding it answers /metrics
            held = in_flight(url) >= 1
            if held:
                break
            time.sleep(0.05)
        assert held, "the request never reached a worker"
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=60)
        assert result == [200]
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        out = proc.stdout.read()
        assert "Application shutdown complete" in out and "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
