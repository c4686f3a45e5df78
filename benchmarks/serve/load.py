"""Serving under load, on 127.0.0.1 only: throughput, p50/p99 latency and errors at 1, 8, 32 and
128 concurrent clients, with micro-batching (--max-batch 64 --max-wait-ms 2) and without
(--max-batch 1); then a memory soak.

  nice -n 10 .venv/bin/python benchmarks/serve/load.py RUN_DIR/export/onnx \\
      --duration 10 --warmup 3 --rounds 3 --procs 2 --soak 120

Two servers run side by side (one per mode, one model thread each); each (clients, mode) cell
is measured ``--rounds`` times, the modes interleaved, and the medians reported with their
spread (min-max over the rounds). A measurement counts the answers that arrive in ``--duration``
seconds after ``--warmup`` seconds of load (the queue filling up); requests still in flight at
the end are neither counted nor errors.

The load generator is ``--procs`` client processes, each an asyncio loop holding its share of
the clients on keep-alive HTTP/1.1 connections (asyncio streams, the request bytes prepared in
advance): each client sends one raw test example per request and waits for the answer before
sending the next (closed loop). A request costs this generator about 0.2 ms of CPU; with
``httpx.AsyncClient`` it cost about 10 ms (measured at 32 clients), which made the generator,
not the server, the bottleneck. Each cell reports the CPU both sides used per request and the
server's CPU use (server CPU seconds per second of wall time: near 1.0 means the server was the
bottleneck), and the mean batch size read from the server's /metrics. A response counts as an
error unless it is a 200; a connection failure is an error too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import cpu_model  # noqa: E402

MODES = {"batching": ["--max-batch", "64"],  # the server's defaults otherwise
         "batching, wait 2 ms": ["--max-batch", "64", "--max-wait-ms", "2"],
         "no batching": ["--max-batch", "1", "--max-wait-ms", "0"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """A plain GET (status, body) for readiness and /metrics, outside the measured load."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def start(artifact: str, args: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    p = subprocess.Popen([str(ROOT / ".venv" / "bin" / "archopt"), "serve", artifact, "--port",
                          str(port), "--threads", "1", "--max-queue", "1024", "--quiet", *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):  # bounded: two minutes
        try:
            if get(port, "/v1/ready")[0] == 200:
                return p, port
        except OSError:
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


def batches(port: int) -> tuple[float, float]:
    """(examples, model calls) so far, from the server's Prometheus text."""
    text = get(port, "/metrics")[1].decode()
    found = dict(re.findall(r"^archopt_batch_size_(sum|count) (\S+)$", text, re.M))
    return float(found.get("sum", 0)), float(found.get("count", 0))


# ---- the client processes -------------------------------------------------------------------

def requests_for(port: int, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST /v1/predict HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
             f"content-type: application/json\r\ncontent-length: {len(b)}\r\n\r\n").encode() + b
            for b in bodies]


async def _client(port: int, reqs: list[bytes], k: int, step: int, count_from: float,
                  stop_at: float, out: dict) -> None:
    i = k
    reader = writer = None
    while time.time() < stop_at:
        t = time.perf_counter()
        ok = False
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(reqs[i % len(reqs)])
            head = await reader.readuntil(b"\r\n\r\n")
            size = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    size = int(value)
            body = await reader.readexactly(size)
            ok = head[9:12] == b"200"
            if ok and not out["checked"]:  # one answer per process is parsed in full
                ok = len(json.loads(body)["predictions"]) == 1
                out["checked"] = True
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            if writer is not None:
                writer.close()
            reader = writer = None
        if count_from <= time.time() <= stop_at:  # only answers inside the window count
            if ok:
                out["latencies"].append(time.perf_counter() - t)
            else:
                out["errors"] += 1
        i += step
    if writer is not None:
        writer.close()


def run_clients(port: int, reqs: list[bytes], first: int, count: int, step: int,
                start_at: float, warmup: float, duration: float) -> dict:
    """``count`` closed-loop clients in this process from ``start_at``; the answers that
    arrive in the ``duration`` seconds after ``warmup`` seconds are counted."""
    out: dict = {"latencies": [], "errors": 0, "checked": False}

    async def main() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        count_from, stop_at = start_at + warmup, start_at + warmup + duration
        await asyncio.gather(*(_client(port, reqs, first + j, step, count_from, stop_at, out)
                               for j in range(count)))

    cpu0 = time.process_time()
    asyncio.run(main())
    return {"latencies": out["latencies"], "errors": out["errors"],
            "cpu_s": time.process_time() - cpu0}


def load(pool: mp.pool.Pool, procs: int, port: int, reqs: list[bytes], clients: int,
         duration: float, pid: int, warmup: float = 0.0) -> dict:
    """One measurement: ``clients`` spread over the client processes; the first ``warmup``
    seconds (the queue filling up) are not counted, in the figures or in the server's CPU."""
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    starts = np.cumsum([0] + shares[:-1])
    start_at = time.time() + 1.5  # every process starts at the same moment
    jobs = [(port, reqs, int(s), n, clients, start_at, warmup, duration)
            for s, n in zip(starts, shares) if n]
    parts = pool.starmap_async(run_clients, jobs)
    time.sleep(max(0.0, start_at + warmup - time.time()))
    ex0, calls0 = batches(port)
    cpu0 = cpu_seconds(pid)
    time.sleep(max(0.0, start_at + warmup + duration - time.time()))
    server_cpu = cpu_seconds(pid) - cpu0
    ex1, calls1 = batches(port)
    parts = parts.get()
    lat = np.array([x for p in parts for x in p["latencies"]] or [float("nan")])
    n = int(np.isfinite(lat).sum())
    return {"rps": n / duration, "p50": float(np.percentile(lat, 50)) * 1e3,
            "p99": float(np.percentile(lat, 99)) * 1e3, "n": n,
            "errors": sum(p["errors"] for p in parts),
            "server_cpu_ms_per_req": 1e3 * server_cpu / max(n, 1),
            "server_cpu_share": server_cpu / duration,
            "client_cpu_ms_per_req": 1e3 * sum(p["cpu_s"] for p in parts) / max(n, 1),
            "mean_batch": (ex1 - ex0) / (calls1 - calls0) if calls1 > calls0 else float("nan")}


# ---- the benchmark --------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact", help="a folder made by `archopt export`")
    p.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32, 128])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="seconds of load before each measurement, not counted")
    p.add_argument("--rounds", type=int, default=3, help="measurements per cell, interleaved")
    p.add_argument("--procs", type=int, default=2, help="client processes")
    p.add_argument("--soak", type=float, default=120.0, help="soak seconds (0: none)")
    p.add_argument("--soak-clients", type=int, default=32)
    p.add_argument("--json", metavar="FILE", help="also write every measurement here")
    p.add_argument("--modes", nargs="*", choices=list(MODES), default=["batching", "no batching"],
                   help="servers to compare (default: the defaults, and no batching)")
    args = p.parse_args()
    meta = json.loads((Path(args.artifact) / "metadata.json").read_text())
    from archopt.data.load import build_raw
    from archopt.spec import load_spec

    run_dir = Path(meta["run_dir"])
    if not run_dir.is_absolute():  # relative to where `archopt export` ran: RUN_DIR/export/onnx
        run_dir = Path(args.artifact).resolve().parents[1]
    test = build_raw(load_spec(run_dir / "spec.yaml").data).test
    bodies = [json.dumps({"inputs": x.tolist()}).encode() for x in test.x[:200].numpy()]
    uptime = [os.getloadavg()[0]]
    servers = {mode: start(args.artifact, MODES[mode]) for mode in args.modes}
    results: dict[tuple[int, str], list[dict]] = {}
    soak = None
    pool = mp.get_context("spawn").Pool(args.procs)
    try:
        for proc, port in servers.values():  # warm-up, not measured (client processes too)
            load(pool, args.procs, port, requests_for(port, bodies), 8, 2.0, proc.pid)
        for clients in args.clients:
            for _ in range(args.rounds):
                for mode, (proc, port) in servers.items():
                    r = load(pool, args.procs, port, requests_for(port, bodies), clients,
                             args.duration, proc.pid, args.warmup)
                    r["alive"] = proc.poll() is None
                    results.setdefault((clients, mode), []).append(r)
                    print(clients, mode, {k: round(v, 3) if isinstance(v, float) else v
                                          for k, v in r.items()}, file=sys.stderr, flush=True)
        uptime.append(os.getloadavg()[0])
        if args.soak > 0:
            soak = run_soak(pool, args, servers[args.modes[0]], bodies)
            uptime.append(os.getloadavg()[0])
    finally:
        pool.terminate()
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"cells": [{"clients": c, "mode": m, "rounds": rs} for (c, m), rs in results.items()],
             "soak": soak, "load_average": uptime, "meta": meta}, indent=1))
    report(args, meta, results, soak, uptime)


def run_soak(pool: mp.pool.Pool, args: argparse.Namespace, server: tuple, bodies: list[bytes]
             ) -> dict:
    """The batching server at ``--soak-clients`` for ``--soak`` seconds, RSS every 5 s."""
    import threading

    proc, port = server
    samples: list[float] = []
    result: dict = {}

    def measure() -> None:
        result.update(load(pool, args.procs, port, requests_for(port, bodies),
                           args.soak_clients, args.soak, proc.pid, args.warmup))

    worker = threading.Thread(target=measure)
    worker.start()
    while worker.is_alive():
        samples.append(rss_mib(proc.pid))
        worker.join(5.0)
    return {"seconds": args.soak, "clients": args.soak_clients, "rss_mib": samples,
            "alive": proc.poll() is None, **result}


def spread(values: list[float], fmt: str) -> str:
    med = statistics.median(values)
    if len(values) < 2:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(args: argparse.Namespace, meta: dict, results: dict, soak: dict | None,
           uptime: list[float]) -> None:
    model = meta.get("model") or {}
    print(f"machine: {cpu_model()} ({os.cpu_count()} cores, shared with other jobs; load "
          f"average {', '.join(f'{u:.1f}' for u in uptime)}); model: {model.get('name', model)} "
          f"({meta['task']}, {meta['format']}); {args.procs} client processes; "
          f"{args.duration:g} s per measurement after {args.warmup:g} s of load not counted, "
          f"{args.rounds} interleaved rounds: medians (min-max)\n")
    print("| clients | mode | requests/s | p50 ms | p99 ms | errors | mean batch | server CPU "
          "ms/req | server CPU share | client CPU ms/req | / no batching (req/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for clients in args.clients:
        rps = {}
        for mode in args.modes:
            rs = results[(clients, mode)]
            rps[mode] = statistics.median(r["rps"] for r in rs)
            errors = sum(r["errors"] for r in rs) + sum(not r["alive"] for r in rs)
            ratio = ""
            if mode != "no batching" and "no batching" in args.modes:
                per_round = [a["rps"] / b["rps"] for a, b in
                             zip(rs, results[(clients, "no batching")]) if b["rps"]]
                ratio = spread(per_round, "{:.2f}") + "x" if per_round else "-"
            print(f"| {clients} | {mode} | {spread([r['rps'] for r in rs], '{:.0f}')} | "
                  f"{spread([r['p50'] for r in rs], '{:.1f}')} | "
                  f"{spread([r['p99'] for r in rs], '{:.1f}')} | {errors} | "
                  f"{statistics.median(r['mean_batch'] for r in rs):.1f} | "
                  f"{spread([r['server_cpu_ms_per_req'] for r in rs], '{:.2f}')} | "
                  f"{statistics.median(r['server_cpu_share'] for r in rs):.2f} | "
                  f"{statistics.median(r['client_cpu_ms_per_req'] for r in rs):.2f} | {ratio} |")
    if soak:
        rss = soak["rss_mib"]
        print(f"\nsoak: {soak['seconds']:g} s at {soak['clients']} clients, {args.modes[0]}: "
              f"{soak['n']} requests, {soak['errors']} errors, server alive: {soak['alive']}, "
              f"{soak['rps']:.0f} requests/s; server RSS first {rss[0]:.1f} MiB, last "
              f"{rss[-1]:.1f} MiB, min {min(rss):.1f}, max {max(rss):.1f} ({len(rss)} samples, "
              "every 5 s)")


if __name__ == "__main__":
    main()
