"""Serving under load, on 127.0.0.1 only: throughput, p50/p99 latency and errors at 1, 8, 32 and
128 concurrent clients, with micro-batching (--max-batch 64 --max-wait-ms 2) and without
(--max-batch 1); then a memory soak.

  .venv/bin/python benchmarks/serve/load.py RUN_DIR/export/onnx --duration 5 --rounds 2 --soak 120

Two servers run side by side (one per mode, one model thread each); each (clients, mode) cell
is measured ``--rounds`` times, the modes interleaved, and the medians reported. The load
generator is an async httpx script in this process: each client sends one example (a raw test
example) per request and waits for the answer before sending the next. Both servers and the
client share the machine's cores, so the figures are for this machine as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import cpu_model  # noqa: E402

MODES = {"batching": ["--max-batch", "64", "--max-wait-ms", "2"],
         "no batching": ["--max-batch", "1", "--max-wait-ms", "0"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(artifact: str, args: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    p = subprocess.Popen([str(ROOT / ".venv" / "bin" / "archopt"), "serve", artifact, "--port",
                          str(port), "--threads", "1", "--max-queue", "1024", "--quiet", *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # bounded: two minutes
        try:
            if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                return p, url
        except httpx.TransportError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("server did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(url: str, bodies: list[bytes], clients: int, duration: float) -> dict:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:
        async def client(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    r = await c.post("/v1/predict", content=bodies[i % len(bodies)],
                                     headers={"content-type": "application/json"})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1
                i += clients
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    return {"rps": len(latencies) / wall, "p50": float(np.percentile(lat, 50)) * 1e3,
            "p99": float(np.percentile(lat, 99)) * 1e3, "errors": errors, "n": len(latencies)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact", help="a folder made by `archopt export`")
    p.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32, 128])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=2, help="measurements per cell, interleaved")
    p.add_argument("--soak", type=float, default=120.0, help="soak seconds (0: none)")
    p.add_argument("--soak-clients", type=int, default=32)
    args = p.parse_args()
    meta = json.loads((Path(args.artifact) / "metadata.json").read_text())
    from archopt.data.load import build_raw
    from archopt.spec import load_spec

    run_dir = Path(meta["run_dir"])
    if not run_dir.is_absolute():  # relative to where `archopt export` ran: RUN_DIR/export/onnx
        run_dir = Path(args.artifact).resolve().parents[1]
    test = build_raw(load_spec(run_dir / "spec.yaml").data).test
    bodies = [json.dumps({"inputs": x.tolist()}).encode() for x in test.x[:200].numpy()]
    servers = {mode: start(args.artifact, flags) for mode, flags in MODES.items()}
    results: dict[tuple[int, str], list[dict]] = {}
    try:
        for clients in args.clients:
            for _ in range(args.rounds):
                for mode, (proc, url) in servers.items():
                    cpu0 = cpu_seconds(proc.pid)
                    r = asyncio.run(load(url, bodies, clients, args.duration))
                    r["server_cpu_s"] = cpu_seconds(proc.pid) - cpu0
                    r["alive"] = proc.poll() is None
                    results.setdefault((clients, mode), []).append(r)
                    print(clients, mode, {k: round(v, 2) if isinstance(v, float) else v
                                          for k, v in r.items()}, file=sys.stderr, flush=True)
        soak = None
        if args.soak > 0:
            proc, url = servers["batching"]
            samples, stop = [], time.perf_counter() + args.soak

            async def sample() -> None:
                while time.perf_counter() < stop:
                    samples.append(rss_mib(proc.pid))
                    await asyncio.sleep(5)

            async def both() -> dict:
                out = await asyncio.gather(load(url, bodies, args.soak_clients, args.soak),
                                           sample())
                return out[0]

            r = asyncio.run(both())
            soak = {"seconds": args.soak, "clients": args.soak_clients, "rss_mib": samples,
                    **r}
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    report(args, meta, results, soak)


def report(args: argparse.Namespace, meta: dict, results: dict, soak: dict | None) -> None:
    print(f"machine: {cpu_model()} ({os.cpu_count()} cores, shared with other jobs); model: "
          f"{meta['model']} ({meta['task']}, {meta['format']}); {args.duration:g} s per "
          f"measurement, {args.rounds} interleaved rounds, medians\n")
    print("| clients | mode | requests/s | p50 ms | p99 ms | errors | server CPU s / 1000 req |"
          " batching / none |")
    print("|---|---|---|---|---|---|---|---|")
    for clients in args.clients:
        rps = {}
        for mode in MODES:
            rs = results[(clients, mode)]
            med = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
            errors = sum(r["errors"] for r in rs) + sum(not r["alive"] for r in rs)
            cpu = statistics.median(1000 * r["server_cpu_s"] / max(r["n"], 1) for r in rs)
            rps[mode] = med["rps"]
            ratio = (f"{rps['batching'] / rps['no batching']:.2f}x"
                     if mode == "no batching" else "")
            print(f"| {clients} | {mode} | {med['rps']:.0f} | {med['p50']:.1f} | "
                  f"{med['p99']:.1f} | {errors} | {cpu:.2f} | {ratio} |")
    if soak:
        rss = soak["rss_mib"]
        print(f"\nsoak: {soak['seconds']:g} s at {soak['clients']} clients with batching: "
              f"{soak['n']} requests, {soak['errors']} errors, {soak['rps']:.0f} requests/s; "
              f"server RSS first {rss[0]:.1f} MiB, last {rss[-1]:.1f} MiB, min {min(rss):.1f}, "
              f"max {max(rss):.1f} ({len(rss)} samples, every 5 s)")


if __name__ == "__main__":
    main()
