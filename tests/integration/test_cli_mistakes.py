"""Oversized models, divergence and the quiet surprises, through the real CLI: each answered in
archopt's own words (exit 2 and a message naming the field, or one `warning:` line)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from archopt.errors import UserError

EXAMPLES = Path(__file__).parents[2] / "examples"


def spec_of(**sections) -> dict:
    spec = {"name": "t", "seed": 0, "data": {"name": "digits", "batch_size": 64},
            "model": {"name": "mlp", "hidden": [16]}, "train": {"epochs": 1}}
    return {**spec, **sections}


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


# -- a model too large for the machine -------------------------------------------------------

@pytest.mark.parametrize("command", ["train", "profile"])
def test_an_oversized_model_is_refused_before_it_is_built(command, cli, write_spec, tmp_path):
    out = tmp_path / "run"
    extra = ["--out", out] if command == "train" else []
    code, _, err = cli(command, write_spec(spec_of()), "--set", "model.hidden=[100000,100000]",
                       *extra)
    assert code == 2, err
    assert err.startswith("error: --set model.hidden=[100000,100000]: needs about"), err
    assert "10.0 G parameters" in err and "GiB" in err and "memory available" in err
    assert "Traceback" not in err and not out.exists()


def test_a_model_near_the_memory_limit_gets_one_warning(cli, write_spec, tmp_path, monkeypatch):
    from archopt.report import memory

    spec = spec_of(model={"name": "mlp", "hidden": [512, 512]})
    # a machine whose available memory is 1.2x what this model needs to train
    from archopt.models import build_model

    model = build_model(spec["model"], _shape(spec))
    need = memory.estimate(_load(spec), _shape(spec), model=model)["total"]
    monkeypatch.setattr(memory, "available_memory",
                        lambda device: (int(need * 1.2), 2 * need, "this machine has"))
    code, _, err = cli("train", write_spec(spec), "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    [line] = warnings_in(err)
    assert line.startswith("warning: model: needs about") and "close to the" in line


def test_every_failure_is_a_user_error_a_study_can_record(tmp_path):
    import archopt

    spec = archopt.load_spec(spec_of(), ["model.hidden=[100000,100000]"])
    with pytest.raises(UserError) as e:
        archopt.fit(spec, out=tmp_path / "run", quiet=True)
    assert "needs about" in e.value.what and not (tmp_path / "run").exists()


def _load(spec: dict):
    from archopt.spec import load_spec

    return load_spec(spec)


def _shape(spec: dict):
    from archopt.data import load_data

    return load_data(spec["data"]).shape


def test_profile_shows_training_memory(cli, write_spec):
    code, out, _ = cli("profile", write_spec(spec_of()), "--repeats", "1", "--json")
    m = json.loads(out)["train_memory"]
    assert code == 0 and m["params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert m["optimizer_state"] == 2 * 4 * m["params"]  # adam: two values per weight


# -- divergence -------------------------------------------------------------------------------

def test_a_nan_loss_without_a_checkpoint_says_to_start_again(cli, write_spec, tmp_path):
    spec = spec_of(train={"epochs": 3, "optimizer": {"name": "sgd", "lr": 1e6}})
    code, _, err = cli("train", write_spec(spec), "--out", tmp_path / "r", "--quiet")
    assert code == 2
    assert "no good epoch was saved" in err and "train.optimizer.lr (e.g. 100000)" in err


def test_resume_with_a_lower_learning_rate_goes_on_from_the_checkpoint(cli, write_spec,
                                                                        tmp_path):
    run = tmp_path / "r"
    spec = spec_of(train={"epochs": 1, "optimizer": {"name": "sgd", "lr": 0.1}})
    assert cli("train", write_spec(spec), "--out", run, "--quiet")[0] == 0
    code, _, err = cli("train", "--resume", run, "--set", "train.epochs=2",
                       "--set", "train.optimizer.lr=0.01", "--set", "train.clip_grad_norm=1.0",
                       "--quiet")
    assert code == 0, err
    lines = [json.loads(s) for s in (run / "history.jsonl").read_text().splitlines()]
    assert [line["lr"] for line in lines] == pytest.approx([0.1, 0.01])


def test_an_exploding_loss_with_batch_norm_stops(cli, write_spec, tmp_path):
    spec = spec_of(model={"name": "mlp", "hidden": [32, 32], "norm": "batch"},
                   train={"epochs": 3, "optimizer": {"name": "sgd", "lr": 1e6}})
    code, _, err = cli("train", write_spec(spec), "--out", tmp_path / "r", "--quiet")
    assert code == 2, err
    assert ("exploded to" in err or "became nan" in err or "became inf" in err), err
    assert "train.optimizer.lr" in err


def test_a_non_finite_validation_loss_stops_the_run():
    from types import SimpleNamespace

    from archopt.train import divergence

    t = SimpleNamespace(first_loss=2.3, optimizers={}, run_dir=None)
    divergence.check_epoch(t, {"epoch": 1, "train_loss": 2.0, "val_loss": 2.1})
    for bad, needle in ((float("nan"), "validation loss became nan"),
                        (2.65e13, "validation loss exploded to 2.65e+13")):
        with pytest.raises(UserError) as e:
            divergence.check_epoch(t, {"epoch": 2, "train_loss": 2.0, "val_loss": bad})
        assert needle in e.value.what and e.value.where == "epoch 2"


# -- the quiet surprises -----------------------------------------------------------------------

def test_repeating_a_run_from_its_spec_lands_beside_it(cli, write_spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = spec_of(name="digits-mlp")
    assert cli("train", write_spec(spec), "--out", "runs/digits-mlp", "--quiet")[0] == 0
    code, out, err = cli("train", "runs/digits-mlp/spec.yaml", "--json", "--quiet")
    assert code == 0, err
    new = Path(json.loads(out)["run_dir"])
    assert new.parent == Path("runs") and new.name.startswith("digits-mlp-")
    assert Path("runs/digits-mlp").resolve() not in new.resolve().parents


def test_a_warmup_longer_than_a_short_run_is_capped(cli, tmp_path):
    spec = EXAMPLES / "gallery" / "digits_mlp.yaml"
    code, _, err = cli("train", spec, "--set", "train.max_steps=3", "--out", tmp_path / "r",
                       "--quiet")
    assert code == 0, err
    [line] = warnings_in(err)
    assert "train.scheduler.warmup_steps" in line and "warming up for 0 steps" in line


def test_a_batch_larger_than_the_training_split_is_said(cli, write_spec, tmp_path):
    spec = spec_of(data={"name": "iris", "batch_size": 512})
    code, _, err = cli("train", write_spec(spec), "--out", tmp_path / "r", "--quiet")
    assert code == 0
    [line] = warnings_in(err)
    assert "data.batch_size: is 512" in line and "only 108 examples" in line


def test_resuming_a_finished_run_says_it_is_complete(cli, write_spec, tmp_path):
    run = tmp_path / "r"
    assert cli("train", write_spec(spec_of()), "--out", run, "--quiet")[0] == 0
    code, out, err = cli("train", "--resume", run, "--quiet")
    assert code == 0 and "already complete (1 epochs" in err and "train.epochs=N" in err


@pytest.mark.parametrize("example,needle", [("autoencoder.yaml", "reconstructs each input"),
                                            ("gan.yaml", "generates examples of 1x8x8")])
def test_profile_names_what_an_autoencoder_or_gan_outputs(cli, example, needle):
    code, out, _ = cli("profile", EXAMPLES / "models" / example, "--repeats", "1",
                       "--batch-size", "2")
    assert code == 0 and needle in out and "10 outputs" not in out


def test_data_list_shows_each_datasets_options(cli):
    code, out, _ = cli("data", "list", "--json")
    d = json.loads(out)["datasets"]
    assert d["csv"]["options"]["target"] == "required"
    assert d["csv"]["options"]["test_split"] == "default 0.2"
    code, out, _ = cli("data", "list")
    assert code == 0 and "target*" in out


def test_data_info_gives_one_spread_for_a_target(cli):
    code, out, _ = cli("data", "info", "diabetes", "--json")
    d = json.loads(out)
    assert code == 0
    assert d["target_stats"]["train"]["std"][0] == pytest.approx(
        d["normalization"]["target_std"][0], rel=1e-9)


# -- DDP: gradients laid out as the buckets expect --------------------------------------------

def test_gradients_get_their_parameters_strides():
    from archopt.train.ddp import match_grad_layout

    conv = torch.nn.Conv1d(1, 4, 3)  # weight (4, 1, 3): a size-1 input-channel dimension
    x = torch.randn(2, 5, 1).permute(0, 2, 1)  # (B, C, T) from a sequence (B, T, F)
    match_grad_layout(conv)
    conv(x).sum().backward()
    assert conv.weight.grad.stride() == conv.weight.stride()
    assert conv.weight.grad.is_contiguous()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo is tested on Linux")
def test_ddp_of_a_1d_conv_net_prints_no_library_warning(tmp_path):
    spec = EXAMPLES / "models" / "sequential.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "archopt.cli.main", "train", str(spec), "--set",
         "train.max_steps=2", "--nproc", "2", "--master-port", str(free_port()), "--out",
         str(tmp_path / "r"), "--quiet"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "Warning:" not in proc.stderr + proc.stdout, proc.stderr
