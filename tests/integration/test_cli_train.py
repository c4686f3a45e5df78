"""`archopt train` and `archopt eval` end to end: every task on a built-in dataset, the files of a
run, repeatability, early stopping, and every bad input (exit 2, a clear message, nothing written).
"""

import json
import subprocess
import sys

import pytest
import torch

from archopt.train.callbacks import tensorboard

CLS = {"name": "wine-mlp", "seed": 3, "device": "cpu",
       "data": {"name": "wine", "batch_size": 32},
       "model": {"name": "mlp", "hidden": [16]},
       "train": {"epochs": 3, "optimizer": {"name": "adam", "lr": 0.01}}}

TASKS = {
    "classification-image": {"data": {"name": "digits", "batch_size": 128,
                                      "augment": [{"name": "mixup", "alpha": 0.2}]},
                             "model": {"name": "cnn", "channels": [8, 8]},
                             "train": {"epochs": 2, "metrics": ["accuracy", "top5_accuracy"]}},
    "classification-sequence": {"data": {"name": "mnist1d", "batch_size": 200},
                                "model": {"name": "mnist1d_cnn"},
                                "train": {"max_steps": 30, "loss": {"name": "focal"}}},
    "classification-variable-length": {
        "data": {"name": "synthetic", "kind": "sequence", "variable_length": True,
                 "num_train": 64, "length": 12},
        "model": {"name": "rnn"}, "train": {"epochs": 2, "optimizer": {"name": "nesterov"}}},
    "regression": {"data": {"name": "diabetes", "batch_size": 64}, "model": {"name": "mlp"},
                   "train": {"epochs": 2, "loss": {"name": "huber"},
                             "scheduler": {"name": "cosine", "warmup_steps": 2}}},
    "regression-synthetic": {"data": {"name": "synthetic", "kind": "regression", "outputs": 2},
                             "model": {"name": "mlp", "hidden": [8]},
                             "train": {"epochs": 2, "optimizer": {"name": "rmsprop"}}},
    "reconstruction": {"data": {"name": "digits", "batch_size": 128},
                       "model": {"name": "autoencoder", "hidden": [32], "latent": 8,
                                 "variational": True}, "train": {"epochs": 2}},
    "generation": {"data": {"name": "digits", "batch_size": 128},
                   "model": {"name": "gan", "latent": 8},
                   "train": {"epochs": 2, "loss": {"name": "gan_hinge"},
                             "optimizer": {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999],
                                           "discriminator_lr": 4e-4}}},
}
WANT = {"classification-image": ("classification", {"accuracy", "top5_accuracy"}),
        "classification-sequence": ("classification", {"accuracy", "f1_macro"}),
        "classification-variable-length": ("classification", {"accuracy", "f1_macro"}),
        "regression": ("regression", {"mse", "mae", "r2"}),
        "regression-synthetic": ("regression", {"mse", "mae", "r2"}),
        "reconstruction": ("reconstruction", {"mse", "psnr"}),
        "generation": ("generation", {"d_loss", "g_loss"})}


def spec_of(**sections):
    spec = json.loads(json.dumps(CLS))
    spec.update(sections)
    return spec


@pytest.mark.parametrize("case", list(TASKS))
def test_every_task_trains_through_the_cli(case, cli, write_spec, tmp_path):
    spec = spec_of(name=case, **TASKS[case])
    out = tmp_path / "run"
    code, stdout, err = cli("train", write_spec(spec), "--out", out, "--json", "--quiet")
    assert code == 0, err
    result = json.loads(stdout)
    task, metrics = WANT[case]
    assert result["run_dir"] == str(out)
    assert metrics <= set(result["test"]) and "loss" in result["test"]
    assert all(v is not None for v in result["test"].values())
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test"] == result["test"] and saved["epochs"] == result["epochs"]
    lines = [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines()]
    assert len(lines) == result["epochs"] and lines[-1]["epoch"] == result["epochs"]
    assert {"epoch", "step", "train_loss", "lr", "epoch_time_s"} <= set(lines[0])
    assert (out / "checkpoints" / "last.pt").is_file()
    assert (out / "spec.yaml").is_file() and (out / "data_shape.json").is_file()
    if task == "generation":
        assert list((out / "samples").glob("*.png"))
    if tensorboard.available():
        assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    if task == "classification":
        assert "confusion_matrix" in saved["test"]


def test_run_dir_files_eval_and_repeat_from_saved_spec(cli, write_spec, tmp_path):
    spec = spec_of(train={**CLS["train"], "early_stopping": {"monitor": "val_accuracy",
                                                             "patience": 5}})
    a, b = tmp_path / "a", tmp_path / "b"
    code, stdout, err = cli("train", write_spec(spec), "--out", a)
    assert code == 0, err
    assert "test" in stdout and f"run dir: {a}" in stdout  # the table and where the run is
    assert "epoch 3/3" in err                              # one plain line per epoch (no TTY)
    saved = json.loads((a / "metrics.json").read_text())
    code, stdout, _ = cli("eval", a, "--json")
    assert code == 0 and json.loads(stdout)["accuracy"] == saved["test"]["accuracy"]
    code, stdout, _ = cli("eval", a, "--split", "val", "--json")
    assert json.loads(stdout)["accuracy"] == saved["val"]["accuracy"]
    # the saved spec repeats the run exactly
    code, _, err = cli("train", a / "spec.yaml", "--out", b, "--quiet")
    assert code == 0, err
    again = json.loads((b / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        assert again[split] == saved[split]


def test_eval_errors(cli, write_spec, tmp_path):
    run = tmp_path / "run"
    assert cli("train", write_spec(spec_of(train={"epochs": 1})), "--out", run, "--quiet")[0] == 0
    code, _, err = cli("eval", tmp_path / "nowhere")
    assert code == 2 and "run directory not found" in err
    norm = run / "normalization.json"
    norm.write_text(norm.read_text().replace("[", "[1.5, ", 1))
    code, _, err = cli("eval", run)
    assert code == 2 and "normalization.json" in err and "differs" in err


def test_same_seed_same_result_and_weights(tmp_path):
    import archopt

    spec = archopt.load_spec(spec_of(model={"name": "mlp", "hidden": [16], "dropout": 0.2},
                                     data={"name": "wine", "batch_size": 16,
                                           "augment": [{"name": "gaussian_noise", "std": 0.1}]}))
    r1 = archopt.fit(spec, out=tmp_path / "1", quiet=True)
    r2 = archopt.fit(spec, out=tmp_path / "2", quiet=True)
    for split in ("train", "val", "test"):
        assert r1[split] == r2[split]
    w1 = torch.load(tmp_path / "1/checkpoints/last.pt", weights_only=True)["model"]
    w2 = torch.load(tmp_path / "2/checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    r3 = archopt.fit(spec.model_copy(update={"seed": 4}), out=tmp_path / "3", quiet=True)
    assert r3["train"]["loss"] != r1["train"]["loss"]


def test_extra_callbacks_see_every_epoch_and_can_stop(tmp_path):
    import archopt
    from archopt.train.callbacks import Callback

    class StopAfterTwo(Callback):
        key = "stop_after_two"

        def __init__(self):
            self.seen = []

        def on_validation_end(self, trainer, logs):
            self.seen.append(logs["val_accuracy"])
            trainer.should_stop = len(self.seen) >= 2

        def state_dict(self):
            return {"seen": list(self.seen)}

    cb = StopAfterTwo()
    r = archopt.fit(archopt.load_spec(spec_of()), out=tmp_path / "cb", quiet=True,
                    callbacks=[cb])
    assert r["epochs"] == 2 and len(cb.seen) == 2
    state = torch.load(tmp_path / "cb/checkpoints/last.pt", weights_only=True)
    assert state["callbacks"]["stop_after_two"] == {"seen": cb.seen}


def test_early_stopping_stops_and_restores_best(tmp_path):
    import archopt

    spec = archopt.load_spec(spec_of(train={"epochs": 40, "optimizer": {"name": "sgd",
                                                                        "lr": 0.5},
                                            "early_stopping": {"monitor": "val_loss",
                                                               "patience": 2}}))
    r = archopt.fit(spec, out=tmp_path / "es", quiet=True)
    lines = [json.loads(x) for x in (tmp_path / "es/history.jsonl").read_text().splitlines()]
    assert r["epochs"] < 40 and len(lines) == r["epochs"]
    best = min(line["val_loss"] for line in lines)
    assert r["val"]["loss"] == pytest.approx(best, rel=1e-6)  # the best weights were restored


def test_nan_loss_stops_with_a_clear_error_keeping_the_checkpoint(cli, write_spec, tmp_path):
    spec = spec_of(data={"name": "diabetes", "batch_size": 32},
                   train={"epochs": 30, "optimizer": {"name": "sgd", "lr": 1e6}})
    code, _, err = cli("train", write_spec(spec), "--out", tmp_path / "nan", "--quiet")
    assert code == 2
    assert "the training loss became" in err and "lr" in err and "Traceback" not in err


def _run_bad(cli, write_spec, tmp_path, spec, *extra):
    out = tmp_path / "never"
    code, stdout, err = cli("train", write_spec(spec), "--out", out, *extra)
    assert code == 2, err
    assert not out.exists()  # nothing written
    return err


@pytest.mark.parametrize("train,needle", [
    ({"optimizer": {"name": "adam", "momentum": 0.9}}, "train.optimizer.momentum"),
    ({"scheduler": {"name": "onecycle", "warmup_steps": 10}}, "train.scheduler.warmup_steps"),
    ({"scheduler": {"name": "multistep", "milestones": [5, 2]}}, "strictly increasing"),
    ({"loss": {"name": "mse"}}, "targets are class indices"),
    ({"metrics": ["r2"]}, "train.metrics.0"),
    ({"early_stopping": {"monitor": "val_acc"}}, "val_accuracy"),
    ({"task": "regression"}, "is a classification dataset"),
])
def test_bad_train_sections_exit_2_and_write_nothing(train, needle, cli, write_spec, tmp_path):
    err = _run_bad(cli, write_spec, tmp_path, spec_of(train={**CLS["train"], **train}))
    assert needle in err and "error:" in err


def test_nproc_larger_than_the_batch(cli, write_spec, tmp_path):
    err = _run_bad(cli, write_spec, tmp_path,
                   spec_of(data={"name": "wine", "batch_size": 2}), "--nproc", "3")
    assert "--nproc" in err and "batch_size" in err


def test_bad_input_through_a_real_process_prints_no_traceback(write_spec, tmp_path):
    spec = write_spec(spec_of(train={"optimizer": {"name": "adam", "momentum": 0.9}}))
    proc = subprocess.run([sys.executable, "-m", "archopt.cli.main", "train", str(spec),
                           "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "train.optimizer.momentum" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_train_needs_a_spec_or_resume(cli):
    code, _, err = cli("train")
    assert code == 2 and "--resume" in err
