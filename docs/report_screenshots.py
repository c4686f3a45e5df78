"""Make the README's report screenshots from real runs.

  python docs/report_screenshots.py            # trains into runs/report-demo/, writes docs/report/
  python docs/report_screenshots.py --study    # also a tuning study's report

Trains a small CNN on digits (and, with --study, runs the study
examples/tune/digits_mlp_quick.yaml, about 90 s), writes each report with `archopt report`,
opens it in headless Chromium (Debian's `chromium`, driven by Playwright) and saves the top of
the page as a PNG in docs/report/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "report"
RUNS = ROOT / "runs" / "report-demo"


def archopt(*args: str) -> None:
    cmd = [sys.executable, "-m", "archopt.cli.main", *args]
    print("$ archopt " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def screenshot(page: Path, png: Path, height: int) -> None:
    """The top ``height`` pixels of the page at a laptop's width."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True,
            viewport={"width": 1280, "height": height},
            args=["--no-sandbox", "--disable-background-networking"])
        p = ctx.new_page()
        p.goto(page.resolve().as_uri(), wait_until="load")
        p.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": 1280, "height": height})
        ctx.close()
    print(f"screenshot: {png.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", action="store_true", help="also a tuning study's report")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    run = RUNS / "digits-cnn"
    if not (run / "metrics.json").is_file():
        shutil.rmtree(run, ignore_errors=True)
        archopt("train", str(ROOT / "examples/gallery/digits_cnn.yaml"), "--set",
                "train.epochs=6", "--out", str(run), "--quiet")
    archopt("report", str(run))
    screenshot(run / "report.html", OUT / "run_report.png", 2000)
    if args.study:
        study = RUNS / "study"
        if not study.exists():
            archopt("tune", str(ROOT / "examples/tune/digits_mlp_quick.yaml"), "--out", str(study))
        archopt("report", str(study))
        screenshot(study / "report.html", OUT / "study_report.png", 2000)


if __name__ == "__main__":
    main()
