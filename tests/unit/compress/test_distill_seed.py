"""The distill step's ``seed``: the student's own draw (initialisation, validation split, batch
order), so that a distillation can be repeated over seeds beside the student trained alone."""

from __future__ import annotations

from archopt.compress.distill import student_spec
from archopt.spec import load_spec
from archopt.spec.schema import DistillStep

SPEC = {"name": "t", "seed": 42, "data": {"name": "digits", "val_split": 0.1},
        "model": {"name": "resnet", "widths": [8], "depths": [1]},
        "train": {"epochs": 3}}


def step(**kw) -> DistillStep:
    return DistillStep(name="distill", student={"name": "mlp", "hidden": [16]}, **kw)


def test_student_takes_the_step_seed():
    spec = load_spec(SPEC)
    s = student_spec(spec, step(seed=7, epochs=5))
    assert (s.seed, s.train.epochs, s.model.name) == (7, 5, "mlp")


def test_student_keeps_the_run_seed_by_default():
    s = student_spec(load_spec(SPEC), step())
    assert s.seed == 42 and s.train.epochs == 3


def test_different_seeds_draw_different_students():
    from archopt.data.dataset import DataShape
    from archopt.models import build_model

    shape = DataShape("image", (1, 8, 8), "classification", 10)
    a, b = (student_spec(load_spec(SPEC), step(seed=s)) for s in (1, 2))
    wa = build_model(a.model, shape, seed=a.seed).state_dict()
    wb = build_model(b.model, shape, seed=b.seed).state_dict()
    assert any((wa[k] != wb[k]).any() for k in wa)
