"""archopt explain on runs with a known answer: a table whose label depends on 3 of 10 columns,
images whose class is given away by a planted patch; the checks; mistakes exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explaindir import INFORMATIVE, patch_run, tabular_run

pytestmark = pytest.mark.xdist_group("explain")


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tabular_run(tmp_path_factory.mktemp("table"))


@pytest.fixture(scope="module")
def patch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return patch_run(tmp_path_factory.mktemp("patch"))


@pytest.fixture(scope="module")
def table_explained(table: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    import archopt

    out = tmp_path_factory.mktemp("table-explained") / "explain"
    return archopt.explain(table, examples=30, samples=64, out=out, sanity_check=False)


@pytest.fixture(scope="module")
def patch_explained(patch: Path) -> dict:
    import archopt

    return archopt.explain(patch, examples=20, samples=64)


def test_every_method_ranks_the_three_informative_columns_first(table_explained: dict) -> None:
    ranking = table_explained["global"]["ranking"]
    methods = {"integrated_gradients", "gradient_shap", "kernel_shap", "lime", "saliency",
               "occlusion"}
    assert methods <= set(ranking)
    for name, order in ranking.items():  # permutation importance too
        assert set(order[:3]) == set(INFORMATIVE), (name, order)
    assert table_explained["feature_names"][1] == "dose"  # the CSV's own column names


def test_integrated_gradients_is_complete_within_one_percent(table_explained: dict) -> None:
    c = table_explained["methods"]["integrated_gradients"]["completeness"]
    assert c["holds"] and c["relative_delta_max"] <= 0.01
    # and it says so because it is: the attributions of each example add up to f(x) - f(b)
    out = Path(table_explained["out"])
    attrs = np.load(out / "attributions.npz")["integrated_gradients"]
    assert attrs.shape == (30, 10)
    assert np.abs(attrs).sum() > 0


def test_the_maps_of_a_clever_hans_model_put_the_patch_first(patch_explained: dict,
                                                             patch: Path) -> None:
    from archopt.explain import checks, groups

    mask = groups.feature_mask("image", (1, 8, 8))
    patch_group = int(mask[0, 0, 2, 4])
    assert (mask[0, 0, 2:4, 4:6] == patch_group).all()
    data = np.load(patch / "explain" / "attributions.npz")
    rows = patch_explained["examples"]
    hans = [i for i, r in enumerate(rows) if r["true"] == 1 and r["predicted"] == 1]
    assert len(hans) >= 5
    for name in patch_explained["methods"]:
        top = checks.group_scores(torch.tensor(data[name]), mask).argsort(1, descending=True)
        if name == "grad_cam":  # a coarse map (the last convolution sees 4x4), upsampled
            assert all(patch_group in top[i, :4].tolist() for i in hans), name
        else:
            assert all(int(top[i, 0]) == patch_group for i in hans), name


def test_grad_cam_on_the_first_convolution_puts_the_patch_first(patch: Path,
                                                                 tmp_path: Path) -> None:
    import archopt
    from archopt.explain import checks, groups

    auto = archopt.explain(patch, methods=["grad_cam"], examples=20, sanity_check=False,
                           plots=False, out=tmp_path / "auto")
    assert auto["methods"]["grad_cam"]["layer"] == "features.2.0"  # the last convolution
    res = archopt.explain(patch, methods=["grad_cam"], layer="features.0.0", examples=20,
                          sanity_check=False, plots=False, out=tmp_path / "first")
    assert res["methods"]["grad_cam"]["layer"] == "features.0.0"
    mask = groups.feature_mask("image", (1, 8, 8))
    attr = torch.tensor(np.load(tmp_path / "first" / "attributions.npz")["grad_cam"])
    top = checks.group_scores(attr, mask).argmax(1)
    hans = [i for i, r in enumerate(res["examples"]) if r["true"] == 1 and r["predicted"] == 1]
    assert hans and all(int(top[i]) == int(mask[0, 0, 2, 4]) for i in hans)


def test_checks_are_reported_and_plotted(patch_explained: dict, patch: Path) -> None:
    saved = json.loads((patch / "explain" / "explain.json").read_text())
    assert saved["methods"].keys() == patch_explained["methods"].keys()
    assert "grad_cam" in saved["methods"] and "attention" not in saved["methods"]
    assert saved["baseline"].startswith("the training split's mean")
    f = saved["faithfulness"]
    assert sorted(f["ranking"]) == sorted(saved["methods"])
    for m in saved["methods"].values():
        assert m["deletion"]["better_than_random"]
        assert m["deletion"]["area"] < f["random"]["area"]
        assert len(m["deletion"]["curve"]) == len(f["fractions"])
        assert m["seconds_per_example"] > 0
    # randomizing the weights drops integrated gradients' rank correlation (1 for itself)
    r = saved["methods"]["integrated_gradients"]["sanity"]["rank_correlation"]
    assert len(r) == len(saved["sanity"]["stages"]) >= 2
    assert r[-1] < 0.8
    for name in ("maps.png", "deletion.png"):
        assert (patch / "explain" / name).read_bytes()[:4] == b"\x89PNG"


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


def test_the_run_report_gains_an_explanation_section(patch_explained: dict, patch: Path) -> None:
    from archopt.report.pages.run import run_page

    html = run_page(patch, with_model=False).render()
    assert "Explanations" in html and "random order&#x27;s area" in html
    assert "integrated_gradients" in html and "data:image/png;base64," in html
