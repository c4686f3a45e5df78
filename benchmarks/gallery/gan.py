"""DCGAN on the 8x8 digits: a sample grid, and a Frechet distance (FID-style) computed in the
feature space of a digits CNN trained by archopt (no Inception network, nothing downloaded).

Rows: generated images of the trained generator, of the same generator untrained, and the real
training images (the floor a perfect generator could reach), each against the real test images.

    .venv/bin/python benchmarks/gallery/gan.py [--fresh]
"""

from __future__ import annotations

import time

import numpy as np
import torch
from common import DOCS, image_grid, link, load_trained, run_spec, table, write_result

GAN = "examples/gallery/digits_dcgan.yaml"
CLASSIFIER = "examples/gallery/digits_cnn.yaml"
EPOCHS = [150, 400]  # the grid is drawn by the last


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(Sa + Sb - 2 (Sa Sb)^1/2) between two (N, D) feature sets."""
    from scipy.linalg import sqrtm

    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = sqrtm(sa @ sb)
    if np.iscomplexobj(covmean):
        covmean = covmean.real  # tiny imaginary parts from numerical error
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sa + sb - 2 * covmean))


@torch.no_grad()
def generate(gan: torch.nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    z = torch.randn(n, gan.latent_dim, generator=torch.Generator().manual_seed(seed))
    return gan.generator(z)  # (n, 1, 8, 8), standardized pixels like the data


def main() -> None:
    t0 = time.perf_counter()
    c = run_spec("digits_cnn", CLASSIFIER)
    _, data, clf = load_trained(c["run_dir"])
    runs = {e: run_spec(f"dcgan_{e}", GAN, [f"train.epochs={e}"]) for e in EPOCHS}
    from archopt.models import build_model

    spec = load_trained(runs[EPOCHS[0]]["run_dir"])[0]
    untrained = build_model(spec.model, data.shape, seed=spec.seed).eval()
    n = len(data.train)

    @torch.no_grad()
    def feats(x: torch.Tensor) -> np.ndarray:
        return clf.features(x).reshape(len(x), -1).double().numpy()

    @torch.no_grad()
    def accepted(x: torch.Tensor) -> float:
        """Mean top-class probability the classifier gives (how digit-like the images are)."""
        return float(clf(x).softmax(1).max(1).values.mean())

    real_test = feats(data.test.x)
    rows = []
    for e, g in runs.items():
        spec, _, gan = load_trained(g["run_dir"])
        fake = generate(gan, n)
        rows.append([f"DCGAN {link(GAN)}, {e} epochs ({g['train_time_s']:.0f} s)", n,
                     f"{frechet(feats(fake), real_test):.2f}", f"{accepted(fake):.3f}"])
    noise = generate(untrained, n)
    rows += [["DCGAN, untrained (same init)", n, f"{frechet(feats(noise), real_test):.2f}",
              f"{accepted(noise):.3f}"],
            ["real training images", n, f"{frechet(feats(data.train.x), real_test):.2f}",
             f"{accepted(data.train.x):.3f}"]]
    md = table(["images", "n", "Frechet distance to real test (lower is better)",
                "classifier confidence"], rows)
    dim = real_test.shape[1]
    md += (f"\n\nFeatures: `model.features` of the trained digits CNN {link(CLASSIFIER)} "
           f"(test accuracy {100 * c['test']['accuracy']:.1f}%), {dim}-d; real test set: "
           f"{len(data.test)} images. Classifier confidence: the mean top-class probability the "
           "same CNN gives the images.")
    _, _, gan = load_trained(runs[EPOCHS[-1]]["run_dir"])
    image_grid(generate(gan, 32, seed=1), DOCS / "digits_dcgan_samples.png",
               title="DCGAN: generated digits")
    image_grid(data.test.x[:32], DOCS / "digits_real.png", title="real test digits")
    write_result("gan", md, time.perf_counter() - t0, ".venv/bin/python benchmarks/gallery/gan.py")


if __name__ == "__main__":
    main()
