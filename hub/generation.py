"""Latent noise for generator models (task ``generation``): the same seed gives the same noise.

One recipe shared by the families (parity samples) and the server (``seed``/``num_samples``
requests), so a served sample equals what a user draws locally.
"""

from __future__ import annotations

import numbers

import numpy as np

from hub.errors import InvalidInput


def draw_latent(num_samples: int, latent_dim: int, seed: int | None) -> np.ndarray:
    """Standard-normal noise of shape ``(num_samples, latent_dim)``, float32.

    The same ``seed`` always gives the same array (``numpy.random.default_rng(seed)``), so a
    generation request with a seed is reproducible; ``seed=None`` draws fresh noise.
    """
    for label, value in (("num_samples", num_samples), ("latent_dim", latent_dim)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidInput(f"{label} must be a positive integer, got {value!r}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise InvalidInput(f"seed must be a non-negative integer or None, got {seed!r}")
    rng = np.random.default_rng(None if seed is None else int(seed))
    return rng.standard_normal((int(num_samples), int(latent_dim)), dtype=np.float32)
