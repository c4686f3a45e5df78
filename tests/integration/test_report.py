"""`archopt report` on real tiny runs of every task, opened in headless Chromium: the page
loads with no console error and no request but its own file, every figure has a size, the
figures of metrics.json are on the page, and a screenshot is saved for the test log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archopt.report import html
from browser import chromium, open_page  # tests/browser.py

pytestmark = pytest.mark.xdist_group("report-browser")

BASE = {"seed": 1, "device": "cpu"}
SPECS = {
    "classification": {"name": "wine-mlp", "data": {"name": "wine", "batch_size": 32},
                       "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 3}},
    "regression": {"name": "diabetes-mlp", "data": {"name": "diabetes", "batch_size": 64},
                   "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 2}},
    "reconstruction": {"name": "digits-ae", "data": {"name": "digits", "batch_size": 256},
                       "model": {"name": "autoencoder", "hidden": [16], "latent": 4},
                       "train": {"epochs": 2}},
    "generation": {"name": "digits-gan", "data": {"name": "digits", "batch_size": 256},
                   "model": {"name": "gan", "latent": 4}, "train": {"max_steps": 7}},
}
SECTIONS = {"classification": ["Confusion matrix", "Per-class precision"],
            "regression": ["predicted vs true"], "reconstruction": ["reconstructions"],
            "generation": ["generated from fixed noise"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import archopt

    root = tmp_path_factory.mktemp("report-runs")
    out = {}
    for task, spec in SPECS.items():
        result = archopt.fit(archopt.load_spec({**BASE, **spec}), out=root / task, quiet=True)
        out[task] = Path(result["run_dir"])
    return out


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


def metric_figures(metrics: dict) -> list[str]:
    """Every scalar of metrics.json as the page prints it."""
    return [html.number(v) for split in ("train", "val", "test")
            for k, v in (metrics.get(split) or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool)]


def check_page(seen, page: Path) -> None:
    assert seen.errors == [], seen.errors
    assert seen.requests == [page.resolve().as_uri()], seen.requests
    assert seen.figures, "no figure on the page"
    for tag, w, h in seen.figures:
        assert w > 50 and h > 50, (tag, w, h)
    assert seen.screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("task", list(SPECS))
def test_run_report_in_browser(runs, browser, task, cli, tmp_path):
    run_dir = runs[task]
    code, out, err = cli("report", run_dir)
    assert code == 0, err
    page = run_dir / "report.html"
    assert f"report: {page}" in out
    seen = open_page(browser, page, tmp_path / f"{task}.png")
    check_page(seen, page)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for figure in metric_figures(metrics):
        assert figure in seen.text, f"{figure} of metrics.json is not on the page"
    for words in SECTIONS[task] + ["Learning curves", "Profile", "FLOPs per example", "Spec"]:
        assert words.lower() in seen.text.lower(), words
    params = json.loads((run_dir / "run.json").read_text())["params"]
    assert f"{params:,}" in seen.text


def test_per_class_scores_match_sklearn(runs):
    from sklearn.metrics import precision_recall_fscore_support

    from archopt.report.pages.run import per_class

    cm = json.loads((runs["classification"] / "metrics.json").read_text())["test"][
        "confusion_matrix"]
    y = [i for i, row in enumerate(cm) for j, n in enumerate(row) for _ in range(n)]
    p = [j for i, row in enumerate(cm) for j, n in enumerate(row) for _ in range(n)]
    want = precision_recall_fscore_support(y, p, labels=range(len(cm)), zero_division=0)
    got = per_class(cm)
    for k in range(4):
        assert [row[k + 1] for row in got] == pytest.approx(list(want[k]))


def test_compare_report_in_browser(runs, browser, tmp_path):
    import archopt

    a, b = runs["classification"], runs["regression"]
    page = archopt.report([a, b], out=tmp_path / "both.html")
    seen = open_page(browser, page, tmp_path / "compare.png")
    check_page(seen, page)
    for key in ("data.name", "wine", "diabetes", "test.loss", "Spec differences"):
        assert key in seen.text


def test_report_of_an_unfinished_run(runs, tmp_path, browser):
    """A killed run (no metrics.json) still gets a page, from its history."""
    import shutil

    import archopt

    run = tmp_path / "killed"
    shutil.copytree(runs["classification"], run)
    (run / "metrics.json").unlink()
    (run / "report.html").unlink(missing_ok=True)
    page = archopt.report(run)
    seen = open_page(browser, page, tmp_path / "killed.png")
    check_page(seen, page)
    assert "killed" in seen.text and "no metrics.json yet" in seen.text


def test_bad_report_paths(tmp_path, cli, runs):
    code, _, err = cli("report", tmp_path / "missing")
    assert code == 2 and "not found" in err
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "is not a run" in err
    code, _, err = cli("report", runs["classification"], "-o", tmp_path)
    assert code == 2 and "is a folder" in err


def test_train_report_flag_and_api_twin(write_spec, tmp_path, cli):
    spec = write_spec({**BASE, **SPECS["classification"], "train": {"epochs": 1}})
    code, out, err = cli("train", spec, "--out", tmp_path / "run", "--report")
    assert code == 0, err
    page = tmp_path / "run" / "report.html"
    assert f"report: {page}" in out and page.stat().st_size > 10_000
    # archopt.report is callable whether or not its package was imported first
    import subprocess
    import sys

    code = ("import archopt, sys; p = archopt.report(sys.argv[1], out=sys.argv[2]); "
            "import archopt.report.plots; q = archopt.report(sys.argv[1], out=sys.argv[2]); "
            "print(p == q, p.stat().st_size > 10000)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run"),
                           str(tmp_path / "api.html")], capture_output=True, text=True)
    assert done.stdout.strip() == "True True", done.stderr


@pytest.mark.parametrize("search", [False, True], ids=["study", "search"])
def test_study_report_in_browser(browser, tmp_path, cli, search):
    from studydir import write_study  # tests/studydir.py

    study = write_study(tmp_path / "study", search=search)
    code, out, err = cli("report", study)
    assert code == 0, err
    page = study / "report.html"
    seen = open_page(browser, page, tmp_path / f"{'search' if search else 'study'}.png")
    check_page(seen, page)
    text = seen.text
    for words in ("Best trial", "Optimization history", "Learning curves", "Parameter importance",
                  "Trials", "pruned at epoch 2", "loss is not finite", "archopt train"):
        assert words in text, words
    assert "0.96" in text  # the best trial's val_accuracy
    assert ("Pareto front" in text) == search
    if search:  # each point of the front with what its spec changed
        assert "model.hidden=[8]" in text and "train.optimizer.lr=0.02" in text
    code, out, _ = cli("runs", tmp_path, "--json")
    row = json.loads(out)[0]
    assert row["kind"] == ("search" if search else "study") and row["status"] == "finished"
    assert row["value"] == 0.96 and row["metric"] == "best val_accuracy"


@pytest.mark.parametrize("finished", [True, False], ids=["finished", "killed"])
def test_compression_report_in_browser(browser, tmp_path, cli, finished):
    from compressdir import write_compression  # tests/compressdir.py

    root = write_compression(tmp_path / "digits-cnn-compress", finished=finished)
    code, out, err = cli("report", root)
    assert code == 0, err
    page = root / "report.html"
    seen = open_page(browser, page, tmp_path / "compression.png")
    check_page(seen, page)
    for words in ("Accuracy and latency", "Step 01-prune", "Step 02-quantize", "before",
                  "after", "latency batch 1 (ms)", "prune note", "0.969", "0.966", "10,500",
                  "0.60×", "3.33×", "after / before"):
        assert words in seen.text, words
    code, out, _ = cli("runs", tmp_path, "--json")
    rows = json.loads(out)
    assert [r["kind"] for r in rows] == ["compression"]  # its steps are inside it
    assert rows[0]["status"] == ("finished" if finished else "killed")
    assert rows[0]["value"] == 0.966 and rows[0]["params"] == 10_500
