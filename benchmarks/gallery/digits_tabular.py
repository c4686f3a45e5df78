"""Digits (8x8 images) and tabular data (wine, breast_cancer, diabetes): archopt specs beside
scikit-learn baselines fitted on the SAME split.

The split and the normalization come from ``archopt.data.load_data`` of each spec's data
section, so the baselines see exactly the examples the network sees: they are fitted on the
train split (the network also uses the validation split to choose its checkpoint) and scored
on the same test split.

    .venv/bin/python benchmarks/gallery/digits_tabular.py [--fresh]
"""

from __future__ import annotations

import time

import numpy as np
from common import link, run_spec, table, write_result

CLASSIFY = [
    ("digits", "MLP", "examples/gallery/digits_mlp.yaml"),
    ("digits", "CNN", "examples/gallery/digits_cnn.yaml"),
    ("digits", "ResNet", "examples/gallery/digits_resnet.yaml"),
    ("wine", "MLP", "examples/gallery/wine_mlp.yaml"),
    ("breast_cancer", "MLP", "examples/gallery/breast_cancer_mlp.yaml"),
]
REGRESS = [("diabetes", "MLP", "examples/gallery/diabetes_mlp.yaml")]


def split_of(spec_path: str) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) as flat numpy arrays, exactly as archopt splits them."""
    import archopt
    from archopt.data import load_data

    spec = archopt.load_spec(spec_path)
    d = load_data(spec.data, spec.seed)
    flat = [s.x.reshape(len(s.x), -1).numpy() for s in (d.train, d.test)]
    return flat[0], d.train.y.numpy(), flat[1], d.test.y.numpy()


def classification_baselines(spec_path: str) -> dict[str, float]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    xtr, ytr, xte, yte = split_of(spec_path)
    models = {"logistic regression": LogisticRegression(max_iter=5000),
              "random forest": RandomForestClassifier(n_estimators=300, random_state=0),
              "RBF SVM": SVC()}
    return {k: float((m.fit(xtr, ytr).predict(xte) == yte).mean()) for k, m in models.items()}


def regression_baselines(spec_path: str) -> dict[str, float]:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression, RidgeCV
    from sklearn.metrics import r2_score

    xtr, ytr, xte, yte = split_of(spec_path)
    ytr, yte = ytr.ravel(), yte.ravel()
    models = {"linear regression": LinearRegression(),
              "ridge (CV alpha)": RidgeCV(alphas=np.logspace(-3, 3, 13)),
              "random forest": RandomForestRegressor(n_estimators=300, random_state=0)}
    return {k: float(r2_score(yte, m.fit(xtr, ytr).predict(xte))) for k, m in models.items()}


def main() -> None:
    t0 = time.perf_counter()
    rows = []
    for data, model, spec in CLASSIFY:
        m = run_spec(f"{data}_{model.lower()}", spec)
        base = classification_baselines(spec)
        best = max(base, key=base.get)
        acc = m["test"]["accuracy"]
        rows.append([data, f"{model} {link(spec)}", "accuracy", f"{100 * acc:.1f}%",
                     ", ".join(f"{k} {100 * v:.1f}%" for k, v in base.items()),
                     f"{100 * (m['test']['accuracy'] - base[best]):+.1f} pts vs {best}",
                     f"{m['train_time_s']:.0f}"])
    for data, model, spec in REGRESS:
        m = run_spec(f"{data}_{model.lower()}", spec)
        base = regression_baselines(spec)
        best = max(base, key=base.get)
        rows.append([data, f"{model} {link(spec)}", "R2", f"{m['test']['r2']:.3f}",
                     ", ".join(f"{k} {v:.3f}" for k, v in base.items()),
                     f"{m['test']['r2'] - base[best]:+.3f} vs {best}", f"{m['train_time_s']:.0f}"])
    md = table(["data", "archopt model", "metric", "archopt (test)",
                "scikit-learn, same split (test)", "archopt - best baseline", "train s"], rows)
    write_result("digits_tabular", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/digits_tabular.py")


if __name__ == "__main__":
    main()
