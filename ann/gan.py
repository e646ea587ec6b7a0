"""A small generative adversarial network on the digits (Goodfellow et al. 2014).

    gan = GAN()                                  # latent 32 -> 64-pixel images
    history = fit_gan(gan, data.digits().train, epochs=200)
    fig = sample_grid(gan, n=64, seed=0)         # the figure: an 8x8 grid of samples

The generator is trained with the non-saturating loss -log D(G(z)) (Goodfellow et al.
2014, sec. 3), Adam with beta1 = 0.5 (Radford et al. 2016, DCGAN), and the
discriminator with one-sided label smoothing (Salimans et al. 2016).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ann._checks import as_split, resolve_device

__all__ = ["GAN", "GANHistory", "fit_gan", "sample_grid"]


class GAN(nn.Module):
    """Generator/discriminator pair of small dense networks.

    generator: latent (B, latent_size) -> images (B, data_features) in [0, 1].
    discriminator: images (B, data_features) -> logits (B, 1), high for real images.
    forward(z) runs the generator.
    """

    task = "generation"

    def __init__(self, data_features: int = 64, latent_size: int = 32, hidden_size: int = 256):
        super().__init__()
        d, z, h = int(data_features), int(latent_size), int(hidden_size)
        self.generator = nn.Sequential(OrderedDict(
            fc1=nn.Linear(z, h), act1=nn.LeakyReLU(0.2), fc2=nn.Linear(h, h),
            act2=nn.LeakyReLU(0.2), out=nn.Linear(h, d), sigmoid=nn.Sigmoid()))
        # dropout slows the discriminator down so the generator keeps a useful gradient
        self.discriminator = nn.Sequential(OrderedDict(
            fc1=nn.Linear(d, h), act1=nn.LeakyReLU(0.2), drop1=nn.Dropout(0.3),
            fc2=nn.Linear(h, h // 2), act2=nn.LeakyReLU(0.2), drop2=nn.Dropout(0.3),
            out=nn.Linear(h // 2, 1)))
        self.config = dict(data_features=d, latent_size=z, hidden_size=h)

    def forward(self, z):
        return self.generator(z)

    def input_problem(self, shape):
        z = self.config["latent_size"]
        return None if shape == (z,) else (
            f"GAN's generator expects latent input (batch, {z}), got (batch, "
            f"{', '.join(map(str, shape))})")

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n generated images as a float32 array (n, data_features) in [0, 1]."""
        device = next(self.parameters()).device
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.config["latent_size"], generator=g).to(device)
        was_training = self.training
        self.eval()
        out = self.generator(z).float().cpu().numpy()
        self.train(was_training)
        return out


@dataclass
class GANHistory:
    """Per-epoch means: discriminator loss, generator loss, D's probability on real and fake."""

    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    d_real: list = field(default_factory=list)
    d_fake: list = field(default_factory=list)
    seconds: float = 0.0


def fit_gan(gan: GAN, data, epochs: int = 200, batch_size: int = 64, lr: float = 2e-4,
            seed: int = 0, device: str = "auto", progress: bool = True) -> GANHistory:
    """Train the pair adversarially on data.x (N, data_features) in [0, 1] (a Split or Dataset).

    Each batch: one discriminator step on real vs generated images, then one generator step.
    Returns a GANHistory; the model stays on the chosen device.
    """
    split = as_split(data)
    if split.x.shape[1:] != (gan.config["data_features"],):
        raise ValueError(f"GAN expects images of shape (batch, {gan.config['data_features']}), "
                         f"got {split.x.shape}")
    dev = resolve_device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    gan.to(dev).train()
    x = torch.from_numpy(split.x).to(dev)
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=lr, betas=(0.5, 0.999))
    history, start = GANHistory(), time.perf_counter()
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc="GAN", leave=False)
    z_size = gan.config["latent_size"]
    for _ in epochs_iter:
        sums = torch.zeros(4, device=dev)
        order = torch.randperm(len(x), generator=gen).to(dev)
        for i in range(0, len(x), batch_size):
            real = x[order[i:i + batch_size]]
            b = len(real)
            fake = gan.generator(torch.randn(b, z_size, device=dev))
            d_real, d_fake = gan.discriminator(real), gan.discriminator(fake.detach())
            # one-sided label smoothing: real targets 0.9 (Salimans et al. 2016, sec. 3.4)
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            d_gen = gan.discriminator(fake)
            loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            sums += b * torch.stack([loss_d.detach(), loss_g.detach(),
                                     torch.sigmoid(d_real).mean().detach(),
                                     torch.sigmoid(d_fake).mean().detach()])
        d, g, pr, pf = (sums / len(x)).tolist()
        history.d_loss.append(d)
        history.g_loss.append(g)
        history.d_real.append(pr)
        history.d_fake.append(pf)
    history.seconds = time.perf_counter() - start
    return history


def sample_grid(gan: GAN, n: int = 64, seed: int = 0, image_shape=(8, 8), ax=None):
    """A square grid of n generated images; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    side = int(np.ceil(np.sqrt(n)))
    h, w = image_shape
    images = gan.sample(n, seed).reshape(n, h, w)
    canvas = np.full((side * (h + 1) - 1, side * (w + 1) - 1), np.nan)  # NaN: white gutters
    for k, img in enumerate(images):
        r, c = divmod(k, side)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    else:
        fig = ax.figure
    cmap = plt.get_cmap("gray").with_extremes(bad="white")  # ink white on black, as in MNIST
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{n} GAN samples (seed {seed})")
    return fig
