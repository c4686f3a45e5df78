"""Autoencoders on the 8x8 digits: test reconstruction MSE of dense and conv autoencoders at
latent sizes 8 and 16 beside PCA with as many components (same split, same standardization);
denoising (noisy test input, clean target); a VAE's sample grid.

    .venv/bin/python benchmarks/gallery/autoencoders.py [--fresh]
"""

from __future__ import annotations

import time

import torch
from common import DOCS, image_grid, link, load_trained, run_spec, table, write_result

DENSE = "examples/gallery/digits_ae_dense.yaml"
CONV = "examples/gallery/digits_ae_conv.yaml"
DENOISE = "examples/gallery/digits_ae_denoising.yaml"
VAE = "examples/gallery/digits_vae.yaml"
NOISE = 0.5  # std of the test-time corruption, in standardized pixel units


def pca_mse(train: torch.Tensor, test: torch.Tensor, k: int, noisy: torch.Tensor | None = None
            ) -> float:
    """Test MSE of PCA with k components fitted on train (optionally projecting a noisy test)."""
    from sklearn.decomposition import PCA

    tr, te = train.reshape(len(train), -1).numpy(), test.reshape(len(test), -1).numpy()
    pca = PCA(n_components=k).fit(tr)
    src = te if noisy is None else noisy.reshape(len(noisy), -1).numpy()
    rec = pca.inverse_transform(pca.transform(src))
    return float(((rec - te) ** 2).mean())


@torch.no_grad()
def recon_mse(model: torch.nn.Module, x_in: torch.Tensor, x_clean: torch.Tensor) -> float:
    return float(((model(x_in) - x_clean) ** 2).mean())


def main() -> None:
    t0 = time.perf_counter()
    rows = []
    data = None
    for spec, arch in ((DENSE, "dense"), (CONV, "conv")):
        for k in (8, 16):
            m = run_spec(f"ae_{arch}_{k}", spec, [f"model.latent={k}"])
            _, data, model = load_trained(m["run_dir"])
            mse = recon_mse(model, data.test.x, data.test.x)
            assert abs(mse - m["test"]["mse"]) < 1e-4, (mse, m["test"]["mse"])
            p = pca_mse(data.train.x, data.test.x, k)
            rows.append([f"{arch} AE {link(spec)}", k, f"{mse:.4f}", f"{p:.4f}",
                         f"{100 * (1 - mse / p):.0f}%", f"{m['train_time_s']:.0f}"])
    md = table(["model", "latent", "AE test MSE", "PCA test MSE", "AE below PCA", "train s"],
               rows)

    # denoising: corrupt the test images with fixed noise, score against the clean images
    gen = torch.Generator().manual_seed(0)
    noisy = data.test.x + NOISE * torch.randn(data.test.x.shape, generator=gen)
    m = run_spec("ae_denoising", DENOISE)
    _, _, dae = load_trained(m["run_dir"])
    _, _, plain = load_trained(run_spec("ae_dense_16", DENSE, ["model.latent=16"])["run_dir"])
    drows = [["noisy input itself", f"{float(((noisy - data.test.x) ** 2).mean()):.4f}"],
             ["PCA, 16 components", f"{pca_mse(data.train.x, data.test.x, 16, noisy):.4f}"],
             [f"dense AE, latent 16 {link(DENSE)}", f"{recon_mse(plain, noisy, data.test.x):.4f}"],
             [f"denoising AE, latent 16 {link(DENOISE)}",
              f"{recon_mse(dae, noisy, data.test.x):.4f}"]]
    md += (f"\n\nDenoising: test images + N(0, {NOISE}^2) noise (standardized pixels), MSE "
           "against the clean images.\n\n" + table(["model", "test MSE vs clean"], drows))
    with torch.no_grad():
        picks = torch.arange(8) * 40
        image_grid(torch.cat([data.test.x[picks], noisy[picks], dae(noisy[picks])]),
                   DOCS / "digits_denoising.png", title="clean / noisy / denoised")

    # VAE: decode random N(0, I) codes
    m = run_spec("vae", VAE)
    _, _, vae = load_trained(m["run_dir"])
    with torch.no_grad():
        z = torch.randn(32, vae.latent_dim, generator=torch.Generator().manual_seed(0))
        image_grid(vae.decode(z), DOCS / "digits_vae_samples.png",
                   title="VAE: decoded N(0, I) codes")
    md += (f"\n\nVAE {link(VAE)} (latent 8): test reconstruction MSE {m['test']['mse']:.4f} "
           f"(posterior mean code), train {m['train_time_s']:.0f} s; samples: "
           "`docs/gallery/digits_vae_samples.png`.")
    write_result("autoencoders", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/autoencoders.py")


if __name__ == "__main__":
    main()
