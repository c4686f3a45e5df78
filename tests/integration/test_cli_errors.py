"""Bad input through the real CLI: exit status 2, one clear message naming the problem, no
traceback, nothing written. Each case is one line of the foundation issue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """\
name: t
data: {name: digits, batch_size: 64}
model: {name: mlp, hidden: [16]}
train: {epochs: 1}
"""


def check(result: tuple[int, str, str], *needles: str) -> str:
    code, out, err = result
    assert code == 2, f"exit {code}, stderr: {err}"
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
    return err


def test_yaml_syntax_error_names_file_and_line(cli, write_spec, tmp_path):
    path = write_spec("name: t\ndata: {name: digits\nmodel: {name: mlp}\n")
    check(cli("train", path, "--out", tmp_path / "run"), f"{path}:", "invalid YAML")
    assert not (tmp_path / "run").exists()


def test_empty_file(cli, write_spec):
    check(cli("train", write_spec("")), "empty")


def test_unknown_top_level_key(cli, write_spec):
    check(cli("train", write_spec(GOOD + "trian: {epochs: 2}\n")), "trian", "did you mean 'train'")


def test_misspelled_field(cli, write_spec):
    spec = GOOD.replace("train: {epochs: 1}", "train: {epocs: 1}")
    check(cli("train", write_spec(spec)), ":4: train.epocs", "did you mean 'epochs'")


def test_wrong_type(cli, write_spec):
    check(cli("train", write_spec(GOOD), "--set", "train.epochs=many"), "train.epochs=many",
          "integer")


@pytest.mark.parametrize("override,needle", [
    ("train.optimizer.lr=-0.01", "greater than 0"),
    ("data.batch_size=0", "greater than 0"),
    ("data.val_split=1", "less than 1"),
])
def test_out_of_range(cli, write_spec, override, needle):
    check(cli("train", write_spec(GOOD), "--set", override), override, needle)


@pytest.mark.parametrize("override,needle", [
    ("model.name=mpl", "did you mean 'mlp'"),
    ("data.name=digts", "did you mean 'digits'"),
    ("train.optimizer.name=adma", "did you mean 'adam'"),
    ("train.loss.name=cross_entropi", "did you mean 'cross_entropy'"),
])
def test_unknown_registry_names(cli, write_spec, override, needle):
    check(cli("train", write_spec(GOOD), "--set", override), "unknown", needle)


def test_missing_data_file(cli, write_spec, tmp_path):
    spec = GOOD.replace("{name: digits, batch_size: 64}",
                        f"{{name: csv, path: {tmp_path}/nope.csv, target: y}}")
    check(cli("train", write_spec(spec)), "nope.csv")


@pytest.mark.parametrize("bad", ["train.epochs", "=3", "a..b=1"])
def test_malformed_override(cli, write_spec, bad):
    check(cli("train", write_spec(GOOD), "--set", bad), "--set", "a.b.c=value")


def test_override_of_missing_field(cli, write_spec):
    check(cli("train", write_spec(GOOD), "--set", "train.optimizer.lrr=0.1"),
          "--set train.optimizer.lrr=0.1", "unknown field", "did you mean 'lr'")


def test_model_output_does_not_fit_task(cli, write_spec, tmp_path):
    spec = GOOD.replace("{name: mlp, hidden: [16]}",
                        "{name: sequential, layers: [flatten: {}, linear: {out_features: 3}]}")
    check(cli("train", write_spec(spec), "--out", tmp_path / "run"), "model", "3", "10")
    assert not (tmp_path / "run").exists()


def test_output_dir_not_writable(cli, write_spec, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    check(cli("train", write_spec(GOOD), "--out", blocker / "run"), str(blocker / "run"))


def test_output_dir_never_overwritten(cli, write_spec, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    check(cli("train", write_spec(GOOD), "--out", out), "not empty", "--resume")
    assert (out / "keep.txt").read_text() == "mine"


def test_no_traceback_from_the_console_script(write_spec):
    # the real entry point, in a fresh interpreter: message on stderr, status 2, no traceback
    proc = subprocess.run([sys.executable, "-m", "archopt.cli.main", "train",
                           str(write_spec(""))], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_debug_shows_traceback(write_spec):
    proc = subprocess.run([sys.executable, "-m", "archopt.cli.main", "train", "--debug",
                           str(write_spec(""))], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["profile", "--help"],
                                  ["data", "--help"]])
def test_help_does_not_import_torch(args):
    # help must answer fast: no torch import (the time itself is in benchmarks/RESULTS.md)
    code = ("import sys\nfrom archopt.cli.main import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO-TORCH")


def test_help_lists_every_command(cli):
    with pytest.raises(SystemExit) as e:
        cli("--help")
    assert e.value.code == 0


def test_help_output(capsys):
    from archopt.cli.main import COMMANDS, main

    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_demo_rejects_unknown_model(cli):
    check(cli("demo", "--models", "cnn,transformer"), "--models", "transformer")


def test_spec_file_missing(cli, tmp_path: Path):
    check(cli("train", tmp_path / "nope.yaml"), "nope.yaml", "not found")
