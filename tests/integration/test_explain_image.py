"""archopt explain on images whose class is given away by a planted 2x2 patch (a "Clever
Hans" shortcut): the maps of a model that learned it put the patch first; Grad-CAM's layer;
the checks on the plots and in the run report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explaindir import patch_run

pytestmark = pytest.mark.xdist_group("explain-image")


@pytest.fixture(scope="session")  # kept while other modules run between
def patch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return patch_run(tmp_path_factory.mktemp("patch"))


@pytest.fixture(scope="session")  # kept while other modules run between
def patch_explained(patch: Path) -> dict:
    import archopt

    return archopt.explain(patch, examples=20, samples=64)


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


def test_the_run_report_gains_an_explanation_section(patch_explained: dict, patch: Path) -> None:
    from archopt.report.pages.run import run_page

    html = run_page(patch, with_model=False).render()
    assert "Explanations" in html and "random order&#x27;s area" in html
    assert "integrated_gradients" in html and "data:image/png;base64," in html
