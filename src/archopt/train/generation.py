"""Generation: a GAN's two-optimizer step (discriminator, then generator), its evaluation on
held-out data, and a callback that saves a grid of samples as PNG every few epochs.

The model has ``generator`` (latent (B, Z) -> example), ``discriminator`` (example -> logits),
``latent_dim`` and ``sample(n, generator)``. The adversarial loss is ``gan_nonsaturating`` or
``gan_hinge`` (LOSSES).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.registry import CALLBACKS, TASKS
from archopt.train import eager
from archopt.train.callbacks._base import Callback
from archopt.train.schedulers import is_per_epoch
from archopt.train.tasks import Task


class GenerationTask(Task):
    name = "generation"
    multi_optimizer = True

    def check(self, model: nn.Module, shape: Any) -> None:
        from archopt.errors import UserError

        if getattr(model, "task", None) != "generation":
            raise UserError("train.task", "generation needs a GAN model (generator and "
                            "discriminator)", "use model: {name: gan}, or leave train.task out")

    @staticmethod
    def train_step(t: Any, batch: Any) -> tuple[dict[str, torch.Tensor], None, None]:
        """1) discriminator on real vs generated, 2) generator against the new discriminator.

        ``t.net`` is the model, or under DDP a pair of DDP-wrapped generator and discriminator
        (``ddp.GANPair``): each backward averages its own gradients over the processes.
        """
        gan, net, loss = t.model, t.net, t.loss_fn
        opt_g, opt_d = t.optimizers["generator"], t.optimizers["discriminator"]
        net.train()
        real = batch.x                                              # (B, *input_shape)
        if t.augment is not None:
            real, _ = t.augment(real, batch.y, t.aug_gen)
        scale = 1.0
        if t.world_size > 1:  # this shard's share of the global batch (see loop.ddp_scale)
            from archopt.train.loop import ddp_scale

            scale = ddp_scale(t, len(real))
        z = torch.randn(len(real), gan.latent_dim, device=real.device)  # (B, Z)
        with t.autocast():
            fake = net.generator(z)                                 # (B, *input_shape)
            d_loss = loss.d_loss(net.discriminator(real), net.discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        t.scaler.scale(d_loss * scale).backward()
        _clip_and_step(t, opt_d, gan.discriminator)
        with t.autocast():
            g_loss = loss.g_loss(net.discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        t.scaler.scale(g_loss * scale).backward()
        _clip_and_step(t, opt_g, gan.generator)
        t.scaler.update()
        for sched in t.schedulers.values():
            if not is_per_epoch(sched):
                sched.step()
        d, g = d_loss.detach(), g_loss.detach()
        return {"loss": d + g, "d_loss": d, "g_loss": g}, None, None

    @torch.no_grad()
    def eval_batch(self, model: nn.Module, batch: Any, loss_fn: nn.Module
                   ) -> tuple[dict[str, torch.Tensor], None, None]:
        # fixed noise per batch size: evaluation never moves the training RNG
        gen = torch.Generator(device=batch.x.device).manual_seed(len(batch.x))
        z = torch.randn(len(batch.x), model.latent_dim, generator=gen, device=batch.x.device)
        fake = model.generator(z)
        d = loss_fn.d_loss(model.discriminator(batch.x), model.discriminator(fake))
        g = loss_fn.g_loss(model.discriminator(fake))
        return {"loss": d + g, "d_loss": d, "g_loss": g}, None, None


def _clip_and_step(t: Any, opt: torch.optim.Optimizer, module: nn.Module) -> None:
    if t.clip_grad_norm is not None:
        t.scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(module.parameters(), t.clip_grad_norm)
    eager.step(opt, t.scaler)


@TASKS.register("generation")
def generation(cfg: Any, **_: Any) -> Task:
    """GANs: generator and discriminator, two optimizers, adversarial losses."""
    return GenerationTask()


def save_grid(samples: torch.Tensor, path: Path, kind: str) -> None:
    """A grid of generated examples as a PNG (images as pictures, others as line plots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(samples)
    cols = min(8, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        s = samples[i].float().cpu()
        if kind == "image":
            img = s.permute(1, 2, 0) if s.shape[0] in (3, 4) else s[0]
            img = (img - img.min()) / (img.max() - img.min() + 1e-8)  # (H, W[, C]) in [0, 1]
            ax.imshow(img.numpy(), cmap=None if img.ndim == 3 else "gray")
        else:
            ax.plot(s.reshape(s.shape[0], -1).numpy() if s.ndim > 1 else s.numpy(), lw=0.8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


class GANSamples(Callback):
    """Saves ``samples/epoch_NNNN.png`` from fixed noise every ``every`` epochs and at the end."""

    key = "gan_samples"

    def __init__(self, run_dir: Path, seed: int, kind: str, every: int = 5, n: int = 16) -> None:
        self.dir, self.seed, self.kind, self.every, self.n = run_dir / "samples", seed, kind, \
            every, n

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        last = trainer.epoch >= trainer.epochs or trainer.global_step >= trainer.total_steps
        if trainer.epoch % self.every and not last:
            return
        gan = trainer.model
        was = gan.training
        gan.eval()
        with torch.no_grad():
            gen = torch.Generator(device=trainer.device).manual_seed(self.seed)
            z = torch.randn(self.n, gan.latent_dim, generator=gen, device=trainer.device)
            samples = gan.generator(z)
        gan.train(was)
        save_grid(samples, self.dir / f"epoch_{trainer.epoch:04d}.png", self.kind)


@CALLBACKS.register("gan_samples")
def gan_samples(cfg: Any, run_dir: Path, seed: int, shape: Any, **_: Any) -> GANSamples:
    """A grid of generated samples (PNG) every few epochs."""
    return GANSamples(run_dir, seed, shape.kind)
