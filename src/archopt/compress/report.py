"""The before/after tables (text) and the accuracy-vs-latency plot of a compression."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 1024:.1f} KiB"


def _x(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def step_rows(block: dict[str, Any]) -> list[list[str]]:
    """Rows (quantity, before, after, ratio) of one step's measurement."""
    b, a, r = block["before"], block["after"], block["ratios"]
    metric = a.get("metric", "metric")

    def num(v: Any, fmt: str = "{:,}") -> str:
        return "-" if v is None else fmt.format(v)

    change = r.get("metric_change")
    return [
        ["params", num(b["params"]), num(a["params"]), _x(r["params"])],
        ["non-zero params", num(b["nonzero_params"]), num(a["nonzero_params"]), ""],
        ["MACs / example", num(b["macs"]), num(a["macs"]), _x(r["macs"])],
        ["size on disk", _mib(b["size_bytes"]), _mib(a["size_bytes"]), _x(r["size_bytes"])],
        ["latency batch 1 (ms)", num(b["latency_ms"]["batch_1"], "{:.4f}"),
         num(a["latency_ms"]["batch_1"], "{:.4f}"), _x(r["latency_batch_1"])],
        [f"latency batch {block['batch_N']} (ms)", num(b["latency_ms"]["batch_N"], "{:.3f}"),
         num(a["latency_ms"]["batch_N"], "{:.3f}"), _x(r["latency_batch_N"])],
        *([["  in ONNX Runtime, batch 1", "", "", _x(r["onnxruntime_latency_batch_1"])],
           [f"  in ONNX Runtime, batch {block['batch_N']}", "", "",
            _x(r["onnxruntime_latency_batch_N"])]] if "onnxruntime_latency_batch_1" in r
          else []),
        [f"test {metric}", num(b["metric_value"], "{:.4f}"), num(a["metric_value"], "{:.4f}"),
         "-" if change is None else f"{change:+.4f}"],
    ]


def step_table(block: dict[str, Any]) -> str:
    """A plain-text table of one step (report.txt)."""
    step = block["step"]
    head = f"step {step['name']} " + ", ".join(f"{k}={v}" for k, v in step.items()
                                               if k != "name" and v not in (None, [], {}))
    lines = [head, f"{'':24}{'before':>16}{'after':>16}{'ratio':>10}"]
    lines += [f"{q:24}{b:>16}{a:>16}{r:>10}" for q, b, a, r in step_rows(block)]
    for k, row in block.get("others", {}).items():
        lines.append(f"  {k}: latency batch 1 {row['latency_ms']['batch_1']:.4f} ms, batch "
                     f"{block['batch_N']} {row['latency_ms']['batch_N']:.3f} ms")
    clock = {"cpu": "thread CPU time", "wall": "wall time"}.get(block.get("clock", "wall"))
    lines.append(f"  measured: {block['threads']} thread(s), {clock}, median of "
                 f"{block['repeats']} interleaved runs, each compared pair timed on its own")
    lines += [f"  note: {n}" for n in block.get("notes", [])]
    return "\n".join(lines) + "\n"


def write_text(report: dict[str, Any], path: Path) -> None:
    from archopt.spec.load import write_atomic

    text = f"start: {report['start']}\n\n" + "\n".join(step_table(s) for s in report["steps"])
    write_atomic(path, text)


def plot(report: dict[str, Any], path: Path) -> None:
    """Test metric against batch-1 latency (relative to the start) for every step and sweep
    point; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archopt.spec.load import write_atomic

    fig, ax = plt.subplots(figsize=(6, 4))
    steps = report["steps"]
    if steps:
        first = steps[0]["before"]
        xs, ys, names = [1.0], [first["metric_value"]], ["start"]
        lat0 = first["latency_ms"]["batch_1"]
        for s in steps:
            xs.append(s["after"]["latency_ms"]["batch_1"] / lat0)
            ys.append(s["after"]["metric_value"])
            names.append(s["step"]["name"])
        ax.plot(xs, ys, "o-", label="steps (cumulative)")
        for x, y, n in zip(xs, ys, names):
            ax.annotate(n, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    for imp, style in (("l1", "s--"), ("random", "x:")):
        pts = [p for p in report.get("sweep", []) if p["importance"] == imp]
        if pts:
            ax.plot([p["latency_ratio_batch_1"] for p in pts], [p["metric_value"] for p in pts],
                    style, label=f"prune sweep, {imp} (no fine-tune)")
    metric = steps[0]["after"]["metric"] if steps else "metric"
    ax.set_xlabel("latency at batch 1 / start model")
    ax.set_ylabel(f"test {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    write_atomic(path, buf.getvalue())
