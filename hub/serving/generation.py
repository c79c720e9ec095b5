"""Latent noise for generator models (task ``generation``): same seed, same samples."""

from __future__ import annotations

import numpy as np


def draw_latent(num_samples: int, latent_dim: int, seed: int) -> np.ndarray:
    """float32 ``[num_samples, latent_dim]`` drawn from N(0, 1), reproducible from ``seed``.

    The generative family owns the canonical sampler (so the server draws exactly what a local
    sampler would); this falls back to the same recipe when that family is not installed.
    """
    try:
        from hub_plugins.generative import draw_latent as family_draw_latent
    except ImportError:
        rng = np.random.default_rng(seed)
        return rng.standard_normal((num_samples, latent_dim)).astype(np.float32)
    return np.asarray(family_draw_latent(num_samples, latent_dim, seed), dtype=np.float32)
