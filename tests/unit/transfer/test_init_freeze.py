"""model.init and train.transfer: a backbone loads into a model with another class count, a
frozen part (weights and batch-norm statistics) does not move, unfreezing mid-run survives a
kill-and-resume, and the three bad inputs of issue 20 are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from archopt.errors import UserError
from archopt.spec import Spec
from archopt.train import fit
from archopt.train.loop import Interrupted

MLP = {"name": "mlp", "hidden": [32, 16], "norm": "batch"}


def spec(tmp_path, name, **over) -> Spec:
    d = {"name": name, "seed": 3, "device": "cpu",
         "data": {"name": "digits", "batch_size": 64, "val_split": 0.0},
         "model": dict(MLP),
         "train": {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01}, "threads": 1,
                   "checkpoint_every_s": 0}}
    for key, value in over.items():
        section, _, leaf = key.partition("__")
        if leaf:
            d[section][leaf] = value
        else:
            d[section] = value
    return Spec.model_validate(d)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A run trained on digits' classes 0-4 (five outputs)."""
    out = tmp_path_factory.mktemp("src") / "run"
    s = spec(out.parent, "src", data={"name": "digits", "batch_size": 64, "val_split": 0.0,
                                      "classes": [0, 1, 2, 3, 4]})
    fit(s, out=out, quiet=True)
    return out


def weights(run) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def test_backbone_into_another_class_count_same_features_fresh_head(source, tmp_path):
    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.models.structure import rebuild
    from archopt.transfer.setup import prepare_transfer

    s = spec(tmp_path, "dst", model={**MLP, "init": {"from": str(source)}})
    data = load_data(s.data, s.seed)
    model = build_model(s.model, data.shape, seed=s.seed)
    fresh_head = {k: v.clone() for k, v in model.head.state_dict().items()}
    report = prepare_transfer(s, model).report
    src_spec = Spec.model_validate(json.loads(json.dumps(
        __import__("yaml").safe_load((source / "spec.yaml").read_text()))))
    src_shape = load_data(src_spec.data, src_spec.seed).shape
    src_model = rebuild(src_spec, src_shape, {"model": weights(source)}).eval()
    model.eval()
    x = data.test.x[:32]
    assert torch.equal(model.features(x), src_model.features(x))
    assert model.head.weight.shape == (10, 16) and src_model.head.weight.shape == (5, 16)
    assert all(torch.equal(model.head.state_dict()[k], v) for k, v in fresh_head.items())
    assert report["new"] == ["head.weight", "head.bias"] and "5 outputs" in report["head"]
    assert "features.1.norm.running_mean" in report["loaded"]


def test_frozen_backbone_weights_and_bn_statistics_bit_identical(source, tmp_path):
    out = tmp_path / "probe"
    s = spec(tmp_path, "probe", model={**MLP, "init": {"from": str(source)}},
             train={"epochs": 2, "optimizer": {"name": "adamw", "lr": 0.01,
                                               "weight_decay": 0.1},
                    "transfer": {"freeze": ["backbone"]}, "threads": 1})
    fit(s, out=out, quiet=True)
    before, after = weights(source), weights(out)
    backbone = [k for k in after if not k.startswith("head.")]
    assert any("running_var" in k for k in backbone)
    for k in backbone:
        assert torch.equal(before[k], after[k]), k
    assert not torch.equal(after["head.weight"][:5], before["head.weight"])  # the head trained
    saved = json.loads((out / "init.json").read_text())
    assert saved["new"] == ["head.weight", "head.bias"]
    assert json.loads((out / "history.jsonl").read_text().splitlines()[0])["trainable"] < 0.2


def test_bn_of_frozen_part_would_drift_without_eval_hold(source, tmp_path):
    """The control: bn_eval false lets running statistics move although weights are frozen."""
    out = tmp_path / "drift"
    s = spec(tmp_path, "drift", model={**MLP, "init": {"from": str(source)}},
             train={"epochs": 1, "transfer": {"freeze": ["backbone"], "bn_eval": False},
                    "threads": 1})
    fit(s, out=out, quiet=True)
    before, after = weights(source), weights(out)
    assert torch.equal(before["features.1.linear.weight"], after["features.1.linear.weight"])
    assert not torch.equal(before["features.1.norm.running_mean"],
                           after["features.1.norm.running_mean"])


class StopAt:
    key = "stop_at"

    def __init__(self, step: int) -> None:
        self.step = step

    def __getattr__(self, hook):  # every other hook is a no-op
        return lambda *a: None

    def on_batch_end(self, t) -> None:
        if t.global_step == self.step:
            t.interrupted = True

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None: ...


def test_gradual_unfreezing_then_kill_and_resume_equals_uninterrupted(source, tmp_path):
    # 28 steps an epoch; the top block unfreezes after epoch 1, the lower after epoch 2
    train = {"epochs": 4, "optimizer": {"name": "adam", "lr": 0.01}, "threads": 1,
             "checkpoint_every_s": 0,
             "transfer": {"freeze": ["backbone"], "gradual": {"start": 1, "every": 1},
                          "backbone_lr": 0.3, "layer_decay": 0.5}}
    s = spec(tmp_path, "g", model={**MLP, "init": {"from": str(source)}}, train=train)
    full, cut = tmp_path / "full", tmp_path / "cut"
    fit(s, out=full, quiet=True)
    with pytest.raises(Interrupted):
        fit(s, out=cut, quiet=True, callbacks=[StopAt(40)])  # mid-epoch 2, after unfreezing
    state = torch.load(cut / "checkpoints" / "last.pt", weights_only=True)
    assert state["global_step"] == 40
    groups = state["optimizers"]["main"]["param_groups"]
    assert [g["name"] for g in groups] == ["head", "block-1", "block-2"]
    assert [g["lr"] for g in groups] == pytest.approx([0.01, 0.0015, 0.00075])
    fit(s, resume=cut, quiet=True)
    a, b = weights(full), weights(cut)
    assert all(torch.equal(a[k], b[k]) for k in a)
    src = weights(source)
    assert not torch.equal(a["features.1.linear.weight"], src["features.1.linear.weight"])
    hist = [json.loads(x)["trainable"] for x in (full / "history.jsonl").read_text().splitlines()]
    assert hist[0] < hist[1] < hist[2] == hist[3] == 1.0


def test_another_architecture_is_an_error_naming_both(source, tmp_path):
    s = spec(tmp_path, "cnn", model={"name": "cnn", "channels": [4], "kernel_sizes": [3],
                                     "init": {"from": str(source)}})
    with pytest.raises(UserError, match="'mlp' model none of whose layers fit this 'cnn'"):
        fit(s, out=tmp_path / "x", quiet=True)
    assert not (tmp_path / "x").exists()


def test_a_layer_of_another_shape_names_the_layer_and_both_shapes(source, tmp_path):
    s = spec(tmp_path, "wide", model={**MLP, "hidden": [32, 24], "init": {"from": str(source)}})
    with pytest.raises(UserError, match=r"features.2.linear.weight has shape \(16, 32\) .* "
                                        r"but \(24, 32\)"):
        fit(s, out=tmp_path / "x", quiet=True)
    loose = s.model_copy(deep=True)
    loose.model.init.strict = False
    loose.train.epochs = 1
    fit(loose, out=tmp_path / "y", quiet=True)
    report = json.loads((tmp_path / "y" / "init.json").read_text())
    assert "features.2.linear.weight" in report["skipped"]
    assert "features.1.linear.weight" in report["loaded"]


def test_a_pattern_that_freezes_nothing_is_an_error(source, tmp_path):
    s = spec(tmp_path, "p", train={"transfer": {"freeze": ["featurs.1.*"]}, "threads": 1})
    with pytest.raises(UserError, match=r"train.transfer.freeze.0: 'featurs.1.\*' matches no"):
        fit(s, out=tmp_path / "x", quiet=True)


def test_a_head_that_cannot_be_found_is_an_error(source, tmp_path):
    s = spec(tmp_path, "h", model={**MLP, "init": {"from": str(source), "head": "classifier"}})
    with pytest.raises(UserError, match="model.init.head: 'classifier' is not a module"):
        fit(s, out=tmp_path / "x", quiet=True)


def test_bad_inputs_exit_2_from_the_cli(source, write_spec, cli):
    d = spec(source.parent, "c", model={"name": "cnn", "channels": [4], "kernel_sizes": [3],
                                        "init": {"from": str(source)}}).model_dump(mode="json")
    code, _, err = cli("train", write_spec(d), "--out", str(source.parent / "c"))
    assert code == 2 and "model.init.from: " in err and "Traceback" not in err


def test_init_from_a_pruned_run_takes_its_widths_and_the_new_run_reloads(source, tmp_path):
    pytest.importorskip("torch_pruning")
    from archopt.compress import compress
    from archopt.train import evaluate

    d = spec(tmp_path, "src", data={"name": "digits", "batch_size": 64, "val_split": 0.0,
                                    "classes": [0, 1, 2, 3, 4]}).model_dump(mode="json")
    d["compress"] = {"steps": [{"name": "prune", "ratio": 0.5}], "repeats": 1,
                     "batch_size": 8}
    report = compress(d, source=str(source), out=tmp_path / "cmp", quiet=True)
    pruned = Path(report["steps"][0]["run_dir"])
    src = torch.load(pruned / "checkpoints" / "best.pt", weights_only=True)
    assert src["model"]["features.1.linear.weight"].shape[0] < 32
    s = spec(tmp_path, "dst", model={**MLP, "init": {"from": str(pruned)}},
             train={"epochs": 1, "transfer": {"freeze": ["backbone"]}, "threads": 1})
    fit(s, out=tmp_path / "dst", quiet=True)
    after = weights(tmp_path / "dst")
    for k, v in src["model"].items():
        if not k.startswith("head."):
            assert torch.equal(after[k], v), k
    assert after["head.weight"].shape == (10, src["model"]["head.weight"].shape[1])
    assert evaluate(tmp_path / "dst")["accuracy"] > 0.1  # rebuilt at the pruned widths
