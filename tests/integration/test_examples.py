"""Every shipped spec loads, validates and builds, and starts with the command that runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_builds(path: Path):
    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.spec import load_spec

    first = path.read_text().splitlines()[0]
    assert first.startswith("# archopt ") and str(path.relative_to(ROOT)) in first, first
    spec = load_spec(path)
    shape = load_data(spec.data, spec.seed).shape
    model = build_model(spec.model, shape, seed=spec.seed)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_paper_examples_match_the_demo():
    import yaml

    from archopt.demo import PAPER, paper_spec

    for preset in PAPER:
        short = preset.split("_")[1]
        spec = yaml.safe_load((ROOT / f"examples/mnist1d/paper_{short}.yaml").read_text())
        expected = paper_spec(preset)
        assert {k: v for k, v in spec.items() if k != "name"} == \
            {k: v for k, v in expected.items() if k != "name"}
