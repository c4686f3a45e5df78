"""Early stopping, history and checkpoint callbacks; callback dispatch."""

import json
import math
from types import SimpleNamespace

from archopt.spec.schema import EarlyStopping as ESConfig
from archopt.train.callbacks import Callback, call
from archopt.train.callbacks.early_stopping import EarlyStopping
from archopt.train.callbacks.history import History


def run_es(values, **cfg):
    es = EarlyStopping(ESConfig(**cfg))
    t = SimpleNamespace(should_stop=False)
    stopped_at = None
    for epoch, v in enumerate(values, 1):
        es.on_epoch_end(t, {"epoch": epoch, cfg.get("monitor", "val_loss"): v})
        if t.should_stop:
            stopped_at = epoch
            break
    return es, stopped_at


def test_early_stopping_waits_patience_epochs_after_the_best():
    es, stopped = run_es([1.0, 0.8, 0.9, 0.85, 0.81, 0.7], patience=3)
    assert stopped == 5 and es.best == 0.8 and es.best_epoch == 2


def test_early_stopping_min_delta_and_auto_max_mode():
    _, stopped = run_es([1.0, 0.99, 0.98], patience=2, min_delta=0.05)
    assert stopped == 3
    es, stopped = run_es([0.5, 0.6, 0.7, 0.65], monitor="val_accuracy", patience=5)
    assert es.mode == "max" and es.best == 0.7 and stopped is None


def test_early_stopping_state_round_trip_keeps_counting():
    es, _ = run_es([1.0, 1.1], patience=3)
    es2 = EarlyStopping(ESConfig(patience=3))
    es2.load_state_dict(es.state_dict())
    t = SimpleNamespace(should_stop=False)
    es2.on_epoch_end(t, {"epoch": 3, "val_loss": 1.2})
    assert es2.wait == 2 and not t.should_stop
    es2.on_epoch_end(t, {"epoch": 4, "val_loss": math.nan})
    assert t.should_stop


def test_history_rewrites_the_file_from_its_state(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path)
    h.on_fit_start(None)
    h.on_epoch_end(None, {"epoch": 1, "train_loss": 0.5})
    path.write_text(path.read_text() + '{"epoch": 2}\n')  # written after the checkpoint
    h2 = History(path)
    h2.load_state_dict(h.state_dict())
    h2.on_fit_start(None)
    assert [json.loads(x) for x in path.read_text().splitlines()] == [
        {"epoch": 1, "train_loss": 0.5}]


def test_call_dispatches_in_order():
    seen = []

    class A(Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append(("a", logs["epoch"]))

    class B(Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append(("b", logs["epoch"]))

    call([A(), B()], "on_epoch_end", None, {"epoch": 1})
    call([A(), B()], "on_fit_start", None)  # no-op hooks
    assert seen == [("a", 1), ("b", 1)]
