"""archopt explain on a table whose label depends on 3 of its 10 columns: every method ranks
those 3 first; integrated gradients' completeness; the sanity check flags a map that ignores
the model; the CLI's output; mistakes exit 2 and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explaindir import INFORMATIVE, tabular_run

pytestmark = pytest.mark.xdist_group("explain-table")


@pytest.fixture(scope="session")  # kept while other modules run between
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tabular_run(tmp_path_factory.mktemp("table"))


@pytest.fixture(scope="session")  # kept while other modules run between
def table_explained(table: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    import archopt

    out = tmp_path_factory.mktemp("table-explained") / "explain"
    return archopt.explain(table, examples=30, samples=64, out=out, sanity_check=False)


def test_every_method_ranks_the_three_informative_columns_first(table_explained: dict) -> None:
    ranking = table_explained["global"]["ranking"]
    methods = {"integrated_gradients", "gradient_shap", "kernel_shap", "lime", "saliency",
               "occlusion"}
    assert methods <= set(ranking)
    for name, order in ranking.items():  # permutation importance too
        assert set(order[:3]) == set(INFORMATIVE), (name, order)
    assert table_explained["feature_names"][1] == "dose"  # the CSV's own column names


def test_integrated_gradients_is_complete_within_one_percent(table: Path,
                                                            table_explained: dict) -> None:
    from archopt.explain.subject import load_subject

    c = table_explained["methods"]["integrated_gradients"]["completeness"]
    assert c["holds"] and c["relative_delta_max"] <= 0.01
    # and it says so because it is: each example's attributions add up to f(x) - f(baseline)
    attrs = np.load(Path(table_explained["out"]) / "attributions.npz")["integrated_gradients"]
    subject = load_subject(table)
    idx = [r["index"] for r in table_explained["examples"]]
    target = torch.tensor([r["target"] for r in table_explained["examples"]])
    x = subject.x[idx]
    with torch.no_grad():
        gap = (subject.model(x) - subject.model(subject.baseline.expand_as(x))
               ).gather(1, target[:, None]).squeeze(1)
    assert attrs.shape == (30, 10)
    assert ((torch.tensor(attrs).sum(1) - gap).abs() <= 0.01 * gap.abs()).all()


def test_randomization_flags_a_method_whose_maps_do_not_change(table: Path,
                                                               tmp_path: Path) -> None:
    """A 'method' that returns the input itself ignores the model: the check must flag it."""
    import archopt
    from archopt.explain import methods

    def input_map(ctx, x, target, lengths):
        return x.abs(), {}

    methods.METHODS["input_map"] = input_map
    try:
        res = archopt.explain(table, methods=["input_map", "integrated_gradients"],
                              examples=6, out=tmp_path / "x", plots=False)
    finally:
        del methods.METHODS["input_map"]
    assert res["methods"]["input_map"]["sanity"]["flagged"]
    assert res["methods"]["input_map"]["sanity"]["rank_correlation"][-1] == pytest.approx(1.0)
    assert not res["methods"]["integrated_gradients"]["sanity"]["flagged"]


@pytest.mark.parametrize("args, where", [
    (["--method", "intgrad"], "--method intgrad"),
    (["--index", "9999"], "--index 9999"),
    (["--method", "grad_cam"], "--method grad_cam"),
    (["--method", "attention"], "--method attention"),
    (["--target", "7"], "--target 7"),
    (["--examples", "0"], "--examples 0"),
    (["--layer", "nope"], "--layer nope"),
])
def test_mistakes_exit_2_and_write_nothing(cli, table: Path, tmp_path: Path, args: list,
                                           where: str) -> None:
    code, out, err = cli("explain", table, "--out", tmp_path / "e", *args)
    assert code == 2, err
    assert err.startswith(f"error: {where}") and "Traceback" not in err
    assert not (tmp_path / "e").exists()


def test_not_a_run_directory_exits_2(cli, tmp_path: Path) -> None:
    code, _, err = cli("explain", tmp_path)
    assert code == 2 and "not a run directory" in err
    code, _, err = cli("explain", tmp_path / "missing")
    assert code == 2 and "not found" in err


def test_cli_prints_the_table_and_json(cli, table: Path, tmp_path: Path) -> None:
    code, out, err = cli("explain", table, "--method", "occlusion", "--method", "saliency",
                         "--index", "3", "5", "--out", tmp_path / "e", "--json", "--no-plots")
    assert code == 0, err
    res = json.loads(out)
    assert [r["index"] for r in res["examples"]] == [3, 5]
    assert set(res["methods"]) == {"occlusion", "saliency"}
    assert (tmp_path / "e" / "explain.json").is_file()
    code, out, err = cli("explain", table, "--method", "occlusion", "--index", "3",
                         "--out", tmp_path / "e", "--no-sanity")
    assert code == 0, err
    assert "occlusion" in out and "deletion area of a random order" in out
    assert "top features, permutation importance:" in out
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [
        "attributions.npz", "bars_occlusion.png", "deletion.png", "explain.json", "global.png"]


def test_a_fine_tuned_run_is_explained(table: Path, tmp_path: Path) -> None:
    """A run started from the table run's weights (model.init, a new head on a frozen backbone)
    explains like any run, and still puts the three informative columns first."""
    import yaml

    import archopt

    spec = yaml.safe_load((table / "spec.yaml").read_text())
    spec["name"] = "fine-tuned"
    spec["model"]["init"] = {"from": str(table), "parts": "backbone"}
    spec["train"]["epochs"] = 8
    spec["train"]["transfer"] = {"freeze": ["backbone"]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    run = archopt.fit(archopt.load_spec(tmp_path / "spec.yaml"), out=tmp_path / "ft",
                      quiet=True)["run_dir"]
    assert yaml.safe_load((Path(run) / "spec.yaml").read_text())["model"]["init"]["from"] == str(
        table)
    res = archopt.explain(run, methods=["integrated_gradients", "occlusion"], examples=30,
                          sanity_check=False, plots=False, out=tmp_path / "e")
    assert res["methods"]["integrated_gradients"]["completeness"]["holds"]
    for name in ("integrated_gradients", "occlusion"):
        assert set(res["global"]["ranking"][name][:3]) == set(INFORMATIVE), name
        assert res["methods"][name]["deletion"]["better_than_random"], name


def test_an_int8_run_is_refused_and_its_source_named(cli, table: Path, tmp_path: Path) -> None:
    """A quantized run is an int8 ONNX model: nothing to differentiate. Exit 2, no traceback,
    the run it was compressed from in the hint, nothing written."""
    import yaml

    pytest.importorskip("onnxruntime")
    spec = tmp_path / "q.yaml"
    spec.write_text(yaml.safe_dump({"name": "q", "compress": {
        "repeats": 1, "batch_size": 16, "steps": [{"name": "quantize", "method": "dynamic"}]}}))
    code, _, err = cli("compress", spec, "--from", table, "--out", tmp_path / "c", "-q")
    assert code == 0, err
    code, _, err = cli("explain", tmp_path / "c" / "01-quantize", "--out", tmp_path / "e")
    assert code == 2 and "Traceback" not in err
    assert "no differentiable weights: an int8 model" in err
    assert f"archopt explain {table}" in err
    assert not (tmp_path / "e").exists()


def test_the_global_view_over_the_whole_split(cli, table: Path, tmp_path: Path) -> None:
    from archopt.explain.methods import Context, run_method
    from archopt.explain.subject import load_subject

    code, out, err = cli("explain", table, "--method", "saliency", "--method", "occlusion",
                         "--examples", "4", "--global-over", "split", "--no-sanity",
                         "--no-plots", "--out", tmp_path / "e", "--json")
    assert code == 0, err
    g = json.loads(out)["global"]
    subject = load_subject(table)
    assert g["over"] == "split" and g["examples"] == len(subject.x) > 4
    for name, order in g["ranking"].items():
        assert set(order[:3]) == set(INFORMATIVE), (name, order)
    # the mean |saliency| of every example of the split, not of the 4 explained
    target = subject.model(subject.x).argmax(1)
    ctx = Context(subject.model, "tabular", (10,), subject.baseline, subject.references)
    sal, _ = run_method("saliency", ctx, subject.x, target, None)
    np.testing.assert_allclose(g["mean_abs"]["saliency"], sal.abs().mean(0).numpy(), atol=1e-5)
    code, out, err = cli("explain", table, "--method", "saliency", "--examples", "4",
                         "--no-sanity", "--no-plots", "--out", tmp_path / "e")
    assert code == 0, err
    assert "global view over 4 explained examples" in out
