"""``make bench`` runs ``benchmarks/run_all.py``, which runs every benchmark script."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_ALL = ROOT / "benchmarks" / "run_all.py"


def test_make_bench_calls_a_script_that_exists():
    target = re.search(r"^bench:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert target, "no bench target in the Makefile"
    scripts = re.findall(r"(benchmarks/\S+\.py)", target.group(1))
    assert scripts and all((ROOT / s).is_file() for s in scripts), scripts


def test_dry_run_lists_every_benchmark_script():
    out = subprocess.run([sys.executable, str(RUN_ALL), "--dry-run", "--write"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    listed = re.findall(r"^== (bench_\w+\.py)", out.stdout, re.M)
    assert listed == sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py"))
    assert "--write" in out.stdout


def test_runs_each_script_and_fails_when_one_fails(tmp_path):
    (tmp_path / "bench_a.py").write_text("open('a.ran', 'w').write('x')\n")
    (tmp_path / "bench_b.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "bench_c.py").write_text("open('c.ran', 'w').write('x')\n")
    out = subprocess.run([sys.executable, str(RUN_ALL), "--dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "failed: bench_b.py" in out.stderr
    assert (tmp_path / "a.ran").is_file() and (tmp_path / "c.ran").is_file()
    only = subprocess.run([sys.executable, str(RUN_ALL), "--dir", str(tmp_path), "--only", "x"],
                          capture_output=True, text=True)
    assert only.returncode != 0 and "no benchmark x" in only.stderr
