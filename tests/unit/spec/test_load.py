"""The spec loader: validation, defaults, overrides, line numbers, round trip."""

from __future__ import annotations

import pytest

from archopt.errors import UserError
from archopt.spec import load_spec, spec_to_yaml
from archopt.spec.load import apply_overrides, parse_override

BASE = {"name": "t", "data": {"name": "digits"}, "model": {"name": "mlp"}}


def load(spec, *overrides):
    return load_spec(spec, overrides, validate_plugins=False)


def test_defaults_filled_in():
    spec = load(BASE)
    assert spec.seed == 42 and spec.device == "auto"
    assert spec.data.val_split == 0.1 and spec.data.batch_size == 100
    assert spec.train.optimizer.name == "adam" and spec.train.optimizer.lr == 1e-3


def test_plugin_keys_kept_as_params():
    spec = load({**BASE, "model": {"name": "cnn", "channels": [8, 8]}})
    assert spec.model.params() == {"channels": [8, 8]}
    assert spec.model.section() == {"name": "cnn", "channels": [8, 8]}


def test_overrides_parse_yaml_values():
    spec = load(BASE, "train.optimizer.lr=0.003", "model.channels=[32, 32]", "seed=7")
    assert spec.train.optimizer.lr == 0.003
    assert spec.model.params()["channels"] == [32, 32]
    assert spec.seed == 7


def test_override_creates_missing_sections():
    spec = load(BASE, "train.early_stopping.patience=3")
    assert spec.train.early_stopping is not None and spec.train.early_stopping.patience == 3


@pytest.mark.parametrize("bad", ["no_equals", "=3", "a..b=1", "train.lr=[1,"])
def test_malformed_override(bad):
    with pytest.raises(UserError) as e:
        parse_override(bad) if "[" not in bad else apply_overrides({}, [bad])
    assert "--set" in e.value.where


def test_override_into_a_value_is_an_error():
    with pytest.raises(UserError, match="not a section"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_unknown_override_field_names_the_override():
    with pytest.raises(UserError) as e:
        load(BASE, "train.optimiser.lr=0.1")
    assert e.value.where == "--set train.optimiser.lr=0.1"
    assert "optimizer" in (e.value.hint or "")


def test_misspelled_field_suggests(write_spec):
    path = write_spec("name: t\ndata:\n  name: digits\n  batch_sise: 10\nmodel: {name: mlp}\n")
    with pytest.raises(UserError) as e:
        load_spec(path)  # data keys are checked against the dataset's own fields too
    assert e.value.where == f"{path}:4: data.batch_sise"
    assert e.value.hint == "did you mean 'batch_size'?"


@pytest.mark.parametrize("override,field", [
    ("train.optimizer.lr=-0.1", "train.optimizer.lr"),
    ("data.batch_size=0", "data.batch_size"),
    ("data.val_split=1.0", "data.val_split"),
    ("train.epochs=abc", "train.epochs"),
    ("device=tpu", "device"),
])
def test_out_of_range_and_wrong_type(override, field):
    with pytest.raises(UserError) as e:
        load(BASE, override)
    assert e.value.where == f"--set {override}"


def test_error_line_numbers_point_at_the_field(write_spec):
    path = write_spec("name: t\ndata: {name: digits}\nmodel: {name: mlp}\ntrain:\n"
                      "  optimizer:\n    lr: -1\n")
    with pytest.raises(UserError) as e:
        load(path)
    assert e.value.where == f"{path}:6: train.optimizer.lr"
    assert "greater than 0" in e.value.what


def test_yaml_syntax_error_names_line(write_spec):
    path = write_spec("name: t\ndata: {name: digits\nmodel: x\n")
    with pytest.raises(UserError) as e:
        load(path)
    assert e.value.where.startswith(f"{path}:")
    assert "invalid YAML" in e.value.what


def test_empty_file(write_spec):
    with pytest.raises(UserError, match="empty"):
        load(write_spec(""))


def test_missing_section(write_spec):
    with pytest.raises(UserError) as e:
        load(write_spec({"name": "t", "data": {"name": "digits"}}))
    assert e.value.where == "model" and "missing" in e.value.what


def test_resolved_yaml_round_trips():
    spec = load(BASE, "train.epochs=3", "model.hidden=[4]")
    import yaml

    again = load(yaml.safe_load(spec_to_yaml(spec)))
    assert again == spec


def test_unknown_top_level_key(write_spec):
    with pytest.raises(UserError) as e:
        load(write_spec({**BASE, "trian": {"epochs": 1}}))
    assert e.value.where.endswith("trian") and e.value.hint == "did you mean 'train'?"


def test_written_files_follow_the_umask_like_open_does(tmp_path):
    """Outputs (run files, studies, reports) are readable by others as ``open`` makes them, not
    owner-only as a bare ``mkstemp`` would leave them."""
    import os
    import stat

    from archopt.spec.load import write_atomic

    write_atomic(tmp_path / "a.json", "{}")
    with open(tmp_path / "b.json", "w") as f:
        f.write("{}")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "b.json").st_mode)
    assert (tmp_path / "a.json").read_text() == "{}"
