"""`archopt serve` over a real exported run: answers over a real socket (httpx), every bad
request gets its 4xx and the server keeps serving, a fuzz of the API finds no 5xx, a full queue
answers 503, SIGTERM under load loses no in-flight request. Every server is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import archopt
from archopt.data.load import build_raw
from archopt.spec import load_spec

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from archopt.serve import ServeSettings, create_app, load_served_model  # noqa: E402

pytestmark = pytest.mark.xdist_group("serve")  # one worker: the run is trained once

SPEC = {"name": "digits-mlp", "seed": 0, "device": "cpu",
        "data": {"name": "digits", "batch_size": 128},
        "model": {"name": "mlp", "hidden": [16]}, "train": {"epochs": 2, "threads": 1}}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    spec = archopt.load_spec(SPEC)
    run = Path(archopt.fit(spec, out=tmp_path_factory.mktemp("serve") / "run", quiet=True)
               ["run_dir"])
    archopt.export(run)  # RUN_DIR/export/onnx
    return run


@pytest.fixture(scope="module")
def digits(run_dir) -> tuple[np.ndarray, np.ndarray]:
    test = build_raw(load_spec(run_dir / "spec.yaml").data).test
    return test.x.numpy(), test.y.numpy()


@pytest.fixture(scope="module")
def client(run_dir):
    app = create_app(load_served_model(run_dir / "export" / "onnx"),
                     ServeSettings(max_examples=64, max_body_bytes=200_000))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(run_dir):
    """Start `archopt serve` in a subprocess; yields (process, base url); always stopped."""
    procs = []

    def start(*args: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        p = subprocess.Popen([sys.executable, "-m", "archopt.cli.main", "serve",
                              str(run_dir / "export" / "onnx"), "--port", str(port), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        procs.append(p)
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # bounded: at most ~60 s on a busy machine
            if p.poll() is not None:
                raise AssertionError(f"server exited: {p.stdout.read()}")
            try:
                if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                    return p, url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become ready")

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def body(x: np.ndarray) -> str:
    return json.dumps({"inputs": x.tolist()})


def test_real_socket_predictions_bad_requests_and_metrics(server, digits, run_dir) -> None:
    proc, url = server()
    x, y = digits
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/v1/predict", content=body(x), headers=JSON)
        assert r.status_code == 200
        preds = r.json()["predictions"]
        # the user's raw pixels in, the run's own test accuracy out
        accuracy = np.mean(np.array([p["class_index"] for p in preds]) == y)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert accuracy == pytest.approx(metrics["test"]["accuracy"], abs=1e-9)
        preds = preds[:50]
        assert preds[0]["class"] == str(preds[0]["class_index"])
        assert abs(sum(preds[0]["probabilities"]) - 1) < 1e-5
        one = c.post("/v1/predict", content=body(x[0]), headers=JSON).json()["predictions"]
        assert len(one) == 1 and one[0] == preds[0]
        nan_body = body(x[0]).replace("0.0", "NaN", 1)
        assert "NaN" in nan_body
        bad = [
            (c.post("/v1/predict", content='{"inputs": [1, 2]}', headers=JSON), 422, "nested"),
            (c.post("/v1/predict", content='{"inputs": [[[1]]]}', headers=JSON), 422, "shape"),
            (c.post("/v1/predict", content='{"inputs": []}', headers=JSON), 422, "empty"),
            (c.post("/v1/predict", content='{"inputs": "x"}', headers=JSON), 422, "list"),
            (c.post("/v1/predict", content=nan_body, headers=JSON), 422, "NaN"),
            (c.post("/v1/predict", content=body(np.zeros((1500, 1, 8, 8))), headers=JSON), 413,
             "at most 1024"),
            (c.post("/v1/predict", content=b"x" * (17 << 20), headers=JSON), 413, "bytes"),
            (c.post("/v1/predict", content=body(x[:1]), headers={"content-type": "text/plain"}),
             415, "application/json"),
            (c.post("/v1/predict", content='{"inputs": [1,', headers=JSON), 400, "malformed"),
            (c.post("/v1/predict", content='{"x": 1}', headers=JSON), 422, "inputs"),
            (c.get("/v1/predict"), 405, ""),
            (c.get("/nope"), 404, ""),
        ]
        for r, status, words in bad:
            assert r.status_code == status, r.text
            assert words in r.json()["detail"]
        # still serving, same answers
        assert c.post("/v1/predict", content=body(x[:50]), headers=JSON).json()["predictions"] \
            == preds
        assert c.get("/v1/health").json() == {"status": "ok"}
        meta = c.get("/v1/metadata").json()
        assert meta["class_names"] == [str(i) for i in range(10)]
        assert meta["server"]["backend"] == "onnxruntime"
        text = c.get("/metrics").text
        assert 'archopt_requests_total{path="/v1/predict",status="422"} 6.0' in text
        assert "archopt_batch_size_count" in text and "archopt_queue_length" in text
        assert c.get("/docs").status_code == 200
        schema = c.get("/openapi.json").json()
        assert "/v1/predict" in schema["paths"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises after draining


def in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    line = next(v for v in text.splitlines() if v.startswith("archopt_requests_in_flight "))
    return float(line.split()[1]) - 1  # this request itself


def test_sigterm_under_load_loses_no_in_flight_request(server, digits) -> None:
    # a batch waits up to 3 s for company: the requests are in flight when SIGTERM arrives
    proc, url = server("--max-wait-ms", "3000", "--max-batch", "256")
    x, _ = digits
    results: list[int] = []

    def client(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            r = c.post(f"{url}/v1/predict", content=body(x[i:i + 2]), headers=JSON)
            results.append(r.status_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for _ in range(300):  # bounded: until all 16 are inside the server
        if in_flight(url) >= 16:
            break
        time.sleep(0.05)
    assert in_flight(url) >= 16 and not results
    proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=60)
    assert results == [200] * 16
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    out = proc.stdout.read()
    assert "Application shutdown complete" in out and "Traceback" not in out


def test_full_queue_answers_503_and_recovers(run_dir, digits) -> None:
    served = load_served_model(run_dir / "export" / "onnx")
    gate = threading.Event()
    fast = served.run
    served.run = lambda x, lengths=None: (gate.wait(10), fast(x, lengths))[1]
    app = create_app(served, ServeSettings(max_batch=1, max_wait_ms=0, max_queue=2))
    x, _ = digits
    with TestClient(app) as c:
        codes: list[int] = []
        threads = [threading.Thread(target=lambda: codes.append(
            c.post("/v1/predict", content=body(x[:1]), headers=JSON).status_code))
            for _ in range(6)]
        for t in threads:
            t.start()
        for _ in range(100):  # bounded: until the extra requests have been refused
            if codes.count(503) >= 3:
                break
            time.sleep(0.05)
        gate.set()
        for t in threads:
            t.join(timeout=30)
        assert sorted(codes) == [200] * 3 + [503] * 3
        assert c.post("/v1/predict", content=body(x[:1]), headers=JSON).status_code == 200
        assert "archopt_rejected_total 3.0" in c.get("/metrics").text


JSONS = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers()
                     | st.text(max_size=5), lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=JSONS | st.fixed_dictionaries({"inputs": JSONS}),
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                     "text/plain", ""]),
       raw=st.booleans(), junk=st.binary(max_size=40))
def test_fuzz_finds_no_5xx(client, payload, content_type: str, raw: bool, junk: bytes) -> None:
    content = junk if raw else json.dumps(payload, allow_nan=True).encode()
    r = client.post("/v1/predict", content=content, headers={"content-type": content_type})
    assert r.status_code < 500, r.text
    assert r.status_code == 200 or r.json()["detail"]


def test_serve_a_run_with_torch_backend_matches_onnx(run_dir, digits, client) -> None:
    x, _ = digits
    with TestClient(create_app(load_served_model(run_dir, "torch"))) as torch_client:
        a = torch_client.post("/v1/predict", content=body(x[:20]), headers=JSON).json()
        assert torch_client.get("/v1/metadata").json()["server"]["backend"] == "torch"
    b = client.post("/v1/predict", content=body(x[:20]), headers=JSON).json()
    pa = np.array([p["probabilities"] for p in a["predictions"]])
    pb = np.array([p["probabilities"] for p in b["predictions"]])
    assert np.abs(pa - pb).max() <= 1e-4


def test_bad_targets(cli, tmp_path, run_dir) -> None:
    code, _, err = cli("serve", tmp_path)
    assert code == 2 and "neither an exported artifact" in err
    code, _, err = cli("serve", run_dir / "export" / "onnx", "--backend", "torch")
    assert code == 2 and "cannot run a onnx artifact" in err
    code, _, err = cli("serve", run_dir, "--max-batch", "0")
    assert code == 2 and "--max-batch" in err
