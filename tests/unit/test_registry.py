"""The Registry: register, lookup with suggestions, validation of plugin sections."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from archopt.errors import UserError
from archopt.registry import Registry


class WidthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(8, gt=0)
    depth: int = 2


@pytest.fixture
def reg() -> Registry:
    r = Registry("widget")

    @r.register("wide", config=WidthConfig)
    def wide(cfg: WidthConfig, scale: int = 1) -> int:
        """A wide widget."""
        return cfg.width * cfg.depth * scale

    @r.register()
    def plain(cfg: dict) -> str:
        return "plain"

    return r


def test_names_and_docs(reg):
    assert reg.names() == ["plain", "wide"]
    assert reg.names("wi") == ["wide"]
    assert reg.get("wide").doc == "A wide widget."


def test_register_twice_is_an_error(reg):
    with pytest.raises(ValueError, match="twice"):
        reg.register("wide")(lambda cfg: None)


def test_unknown_name_suggests(reg):
    with pytest.raises(UserError) as e:
        reg.get("wdie", "model.name")
    assert e.value.where == "model.name" and e.value.hint == "did you mean 'wide'?"


def test_unknown_name_lists_choices_when_nothing_close(reg):
    with pytest.raises(UserError) as e:
        reg.get("zzz")
    assert "plain, wide" in e.value.hint


def test_build_validates_and_passes_context(reg):
    assert reg.build({"name": "wide", "width": 3}, "model", scale=10) == 60


def test_unknown_param_suggests(reg):
    with pytest.raises(UserError) as e:
        reg.build({"name": "wide", "widht": 3}, "model")
    assert e.value.where == "model.widht" and e.value.hint == "did you mean 'width'?"


def test_bad_value_names_field(reg):
    with pytest.raises(UserError) as e:
        reg.build({"name": "wide", "width": -1}, "model")
    assert e.value.where == "model.width" and "greater than 0" in e.value.what


def test_params_for_configless_entry(reg):
    with pytest.raises(UserError) as e:
        reg.build({"name": "plain", "x": 1}, "thing")
    assert e.value.where == "thing.x" and "takes no parameters" in e.value.hint


def test_missing_name(reg):
    with pytest.raises(UserError, match="missing"):
        reg.build({"width": 1}, "model")
