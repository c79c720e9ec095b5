"""Generative models as first-class citizens: marking a generator, and drawing its noise.

A generator maps a latent noise vector to a sample (a GAN generator, a VAE decoder). Wrap it in
:class:`Generator` to publish it as one::

    from hub_plugins.generative import Generator
    convert_and_check(registry, Generator(decoder, latent_dim=16), sample=64)

The keras and torch families claim a :class:`Generator` ahead of a bare model. Its export has
exactly one input, named :data:`LATENT_INPUT` (``"latent"``, shape ``(batch, latent_dim)``,
float32), ``task == "generation"`` and ``latent_input == "latent"``, so the runtime can draw the
noise itself with :func:`draw_latent` when a request gives only ``seed``/``num_samples``.

This module imports no framework; :func:`draw_latent` (re-exported here) lives in
:mod:`hub.generation`, shared with the server.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hub.errors import InvalidInput
from hub.generation import draw_latent

#: Name of a generator's noise input in every export.
LATENT_INPUT = "latent"
#: The ``task`` of a generator's export and model card.
GENERATION_TASK = "generation"
#: Seed used to draw the parity sample when a generator's sample is given as a row count.
PARITY_SEED = 0


@dataclass(frozen=True)
class Generator:
    """Marks ``model`` as a generator taking noise of ``latent_dim`` values per sample.

    ``model`` is a framework object (a Keras model, a torch ``nn.Module``) or a path to a saved
    one (``.keras``, SavedModel folder, ``.pt``, ``.pt2``) that maps ``(batch, latent_dim)``
    float32 noise to a batch of samples. Its sample for parity is either a latent array of shape
    ``(rows, latent_dim)`` or a row count (noise drawn with :data:`PARITY_SEED`).
    """

    model: Any
    latent_dim: int

    def __post_init__(self) -> None:
        if (
            isinstance(self.latent_dim, bool)
            or not isinstance(self.latent_dim, numbers.Integral)
            or self.latent_dim < 1
        ):
            raise InvalidInput(f"latent_dim must be a positive integer, got {self.latent_dim!r}")
        if isinstance(self.model, Generator):
            raise InvalidInput("a Generator cannot wrap another Generator")
        if isinstance(self.model, str):
            object.__setattr__(self, "model", Path(self.model))

    @property
    def is_file(self) -> bool:
        """True when the wrapped model is still a path to load."""
        return isinstance(self.model, Path)


def latent_sample(sample: Any, latent_dim: int) -> np.ndarray:
    """A generator's parity sample as float32 noise of shape ``(rows, latent_dim)``.

    Accepts a row count, an array, or a mapping holding the array under ``"latent"``.
    """
    if isinstance(sample, numbers.Integral) and not isinstance(sample, bool):
        return draw_latent(int(sample), latent_dim, PARITY_SEED)
    if isinstance(sample, Mapping):
        if set(sample) != {LATENT_INPUT}:
            raise InvalidInput(
                f"a generator's sample has one input, {LATENT_INPUT!r}; got {sorted(sample)}"
            )
        sample = sample[LATENT_INPUT]
    try:
        array = np.asarray(sample, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a generator's sample must be latent noise: {exc}") from None
    if array.ndim != 2 or array.shape[1] != latent_dim or array.shape[0] < 1:
        raise InvalidInput(
            f"a generator's latent sample must have shape (rows, {latent_dim}), "
            f"got {tuple(array.shape)}"
        )
    return array


def generator_card_defaults(library: str) -> dict[str, Any]:
    """Card metadata shared by every generator export."""
    return {"library": library, "task": GENERATION_TASK, "tags": [library, "generative"]}
