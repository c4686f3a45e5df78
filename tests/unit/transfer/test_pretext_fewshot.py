"""Self-supervised pretraining (contrastive, autoencoder) gives ordinary runs whose encoder
model.init takes; prototypical training and few-shot evaluation; the transfer comparison."""

from __future__ import annotations

import json

import pytest
import torch

from archopt.errors import UserError
from archopt.spec import Spec
from archopt.train import fit
from archopt.transfer.contrastive import nt_xent
from archopt.transfer.fewshot import fewshot, interval

MLP = {"name": "mlp", "hidden": [32, 16], "norm": "batch"}


def spec(name, model=None, data=None, **train) -> Spec:
    return Spec.model_validate({
        "name": name, "seed": 1, "device": "cpu",
        "data": data or {"name": "digits", "batch_size": 64, "val_split": 0.1},
        "model": model or dict(MLP),
        "train": {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01}, "threads": 1,
                  **train}})


def test_nt_xent_is_low_for_matching_views_and_high_for_shuffled():
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    same = nt_xent(z, z + 0.01 * torch.randn(16, 8), 0.1)
    other = nt_xent(z, z[torch.randperm(16)], 0.1)
    assert float(same) < 0.1 < float(other)


@pytest.fixture(scope="module")
def simclr(tmp_path_factory):
    out = tmp_path_factory.mktemp("ssl") / "run"
    s = spec("simclr", task="contrastive", contrastive={"projection": [16, 8]},
             checkpoint_every_s=0)
    fit(s, out=out, quiet=True)
    return out


def test_contrastive_run_trains_without_labels_and_its_backbone_loads(simclr, tmp_path):
    hist = [json.loads(x) for x in (simclr / "history.jsonl").read_text().splitlines()]
    assert hist[1]["train_loss"] < hist[0]["train_loss"] and "val_loss" in hist[0]
    state = torch.load(simclr / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert "projection.0.linear.weight" in state
    from archopt.train import evaluate

    assert evaluate(simclr, "test")["loss"] > 0  # a contrastive run reloads (projection too)
    probe = spec("probe", model={**MLP, "init": {"from": str(simclr), "parts": "backbone"}},
                 transfer={"freeze": ["backbone"]}, epochs=1)
    fit(probe, out=tmp_path / "probe", quiet=True)
    report = json.loads((tmp_path / "probe" / "init.json").read_text())
    assert "projection.0.linear.weight" in report["skipped"]
    after = torch.load(tmp_path / "probe" / "checkpoints" / "last.pt",
                       weights_only=True)["model"]
    assert torch.equal(after["features.1.linear.weight"], state["features.1.linear.weight"])


def test_autoencoder_encoder_loads_into_mlp_features(tmp_path):
    ae = tmp_path / "ae"
    fit(spec("ae", model={"name": "autoencoder", "hidden": [32, 16], "latent": 8}, epochs=1),
        out=ae, quiet=True)
    s = spec("fromae", model={"name": "mlp", "hidden": [32, 16],
                              "init": {"from": str(ae), "parts": "backbone"}}, epochs=1)
    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.transfer.setup import prepare_transfer

    model = build_model(s.model, load_data(s.data, 1).shape, seed=1)
    report = prepare_transfer(s, model).report
    src = torch.load(ae / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert report["renamed"] == "encoder.* -> features.*"
    assert torch.equal(model.features[2].linear.weight, src["encoder.2.linear.weight"])
    assert "features.2.linear.weight" in report["loaded"]


def test_protonet_on_some_classes_then_fewshot_on_the_others(tmp_path, cli):
    run = tmp_path / "proto"
    s = spec("proto", data={"name": "digits", "batch_size": 100, "val_split": 0.0,
                            "classes": [0, 1, 2, 3, 4]},
             task="prototypical", episodes={"ways": 5, "shots": 5, "queries": 5}, epochs=3)
    s.fewshot = {"classes": [5, 6, 7, 8, 9], "episodes": 50, "shots": [1, 5]}
    fit(s, out=run, quiet=True)
    hist = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    assert 0.2 < hist[-1]["train_episode_accuracy"] <= 1.0
    a = fewshot(run)
    b = fewshot(run, write=False)
    assert a["results"] == b["results"]  # seeded episodes
    one, five = a["results"]
    assert one["shots"] == 1 and five["encoder"]["mean"] > one["encoder"]["mean"] > 20.0
    assert 0 < five["raw"]["ci95"] < 10 and json.loads((run / "fewshot.json").read_text())
    code, out, err = cli("fewshot", run, "--shots", "5", "--episodes", "20", "--ways", "3")
    assert code == 0 and "3-way 5-shot" in out and "raw inputs" in out
    code, _, err = cli("fewshot", run, "--ways", "9")
    assert code == 2 and "fewshot" in err and "9-way" in err
    # SimpleShot's CL2N: the same episodes, the encoder centred on the base classes' mean
    c = fewshot(run, normalize="cl2n", write=False)
    assert c["normalize"] == "cl2n" and c["results"][0]["raw"] == one["raw"]
    assert c["results"][0]["encoder"] != one["encoder"]
    with pytest.raises(UserError, match="fewshot.normalize.*every class is held out"):
        fewshot(run, classes=list(range(10)), normalize="cl2n", write=False)
    code, out, _ = cli("fewshot", run, "--normalize", "cl2n", "--episodes", "20")
    assert code == 0 and "5-way 1-shot" in out


def test_base_mean_is_the_mean_embedding_of_the_classes_not_held_out():
    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.transfer.fewshot import base_mean, embed, resolve

    s = spec("m", data={"name": "digits", "batch_size": 100, "val_split": 0.0})
    data = load_data(s.data, s.seed)
    model = build_model(s.model, data.shape)
    fs = resolve(s, {"classes": [5, 6, 7, 8, 9]})
    base = data.train.x[data.train.y < 5]
    assert torch.allclose(base_mean(model, s, fs), embed(model, base).mean(0), atol=1e-5)


def test_interval_is_the_normal_95_percent_half_width():
    r = interval(torch.tensor([0.5, 1.0] * 50))
    assert r["mean"] == 75.0 and r["ci95"] == pytest.approx(100 * 1.96 * 0.2513 / 10, abs=0.01)


def test_fewshot_needs_held_out_classes(simclr):
    with pytest.raises(UserError, match="fewshot.classes"):
        fewshot(simclr)


def test_compare_transfer_trains_each_recipe_and_skips_finished_runs(simclr, tmp_path):
    from archopt.transfer.compare import compare_transfer

    s = spec("down", data={"name": "digits", "batch_size": 64, "val_split": 0.0,
                           "classes": [5, 6, 7]}, epochs=4)
    r = compare_transfer(s, from_=str(simclr), per_class=[2], out=tmp_path / "cmp")
    assert [x["recipe"] for x in r["table"]] == ["scratch", "probe", "finetune", "gradual",
                                                 "selftrain"]
    spec_g = json.loads(json.dumps(__import__("yaml").safe_load(
        (tmp_path / "cmp" / "gradual" / "k2-s1" / "spec.yaml").read_text())))
    assert spec_g["train"]["transfer"]["gradual"] == {"start": 1, "every": 1}
    assert spec_g["data"]["per_class"] == 2 and spec_g["model"]["init"]["parts"] == "backbone"
    spec_st = __import__("yaml").safe_load(
        (tmp_path / "cmp" / "selftrain" / "k2-s1" / "spec.yaml").read_text())
    assert spec_st["data"]["pseudo_labels"]["from"] == str(tmp_path / "cmp" / "probe" / "k2-s1")
    assert spec_st["train"]["transfer"]["freeze"] == ["backbone"]
    only = compare_transfer(s, from_=str(simclr), per_class=[2], recipes=["selftrain"],
                            out=tmp_path / "cmp")  # its probe comes first, here already done
    assert [x["recipe"] for x in only["table"]] == ["probe", "selftrain"]
    stamp = (tmp_path / "cmp" / "probe" / "k2-s1" / "metrics.json").stat().st_mtime_ns
    again = compare_transfer(s, from_=str(simclr), per_class=[2], out=tmp_path / "cmp")
    assert again["table"] == r["table"]
    assert (tmp_path / "cmp" / "probe" / "k2-s1" / "metrics.json").stat().st_mtime_ns == stamp
    with pytest.raises(UserError, match="--recipes: 'prob' is not a recipe"):
        compare_transfer(s, from_=str(simclr), recipes=["prob"], out=tmp_path / "x")


def test_fewshot_test_images_are_none_of_the_training_split():
    """Pretraining without labels reads train (and val); episodes read test: no image in both."""
    from archopt.data import load_data

    d = load_data({"name": "digits", "val_split": 0.1}, 0)
    seen = torch.cat([d.train.x, d.val.x]).flatten(1)
    nearest = torch.cdist(d.test.x.flatten(1), seen).min(1).values
    assert len(d.test) > 300 and float(nearest.min()) > 1e-4


def test_pseudo_labels_add_the_confident_predictions_of_a_run_to_the_labelled_examples(tmp_path):
    from archopt.data import load_data
    from archopt.transfer.pseudo import apply_pseudo_labels, predict

    data = {"name": "digits", "batch_size": 64, "val_split": 0.0, "classes": [0, 1, 2],
            "per_class": 5}
    run = tmp_path / "probe"
    fit(spec("probe", data=data, epochs=10), out=run, quiet=True)

    def with_pseudo(**change):
        s = spec("st", data={**data, "pseudo_labels": {"from": str(run), "threshold": 0.8},
                             **change})
        s.seed = 1
        return apply_pseudo_labels(load_data(s.data, s.seed), s)

    few = load_data(data, 1)
    pool = load_data({**data, "per_class": None}, 1)
    d = with_pseudo()
    assert torch.equal(d.train.x[:15], few.train.x) and torch.equal(d.train.y[:15], few.train.y)
    probs = predict(run, d.train.x[15:], "headline", pool.normalization, 3)
    assert len(d.train) > 15 and bool((probs.max(1).values >= 0.8).all())
    assert torch.equal(probs.argmax(1), d.train.y[15:])  # the run's labels, not the data's
    assert len(d.train) <= len(pool.train) and torch.equal(d.test.y, pool.test.y)
    with pytest.raises(UserError, match="data.pseudo_labels.*per_class"):
        with_pseudo(per_class=None)
    with pytest.raises(UserError, match="data.pseudo_labels.from.*3 outputs.*4 classes"):
        with_pseudo(classes=[0, 1, 2, 3])
    # fit applies it: the self-trained run saw the labelled and the pseudo-labelled examples
    s = spec("st", data={**data, "pseudo_labels": {"from": str(run), "threshold": 0.8}},
             epochs=1)
    s.seed = 1
    out = fit(s, out=tmp_path / "st", quiet=True)
    hist = [json.loads(x) for x in (tmp_path / "st" / "history.jsonl").read_text().splitlines()]
    assert out["run_dir"] and hist[0]["step"] == -(-len(d.train) // 64)  # steps of one epoch
