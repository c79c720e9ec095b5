"""Generative models as first-class citizens: marking a generator, and drawing its noise.

A generator maps a latent noise vector to a sample (a GAN generator, a VAE decoder). Wrap it in
:class:`Generator` to publish it as one::

    from hub.families.generation import Generator
    convert_and_check(registry, Generator(decoder, latent_dim=16), sample=64)

The keras and torch families claim a :class:`Generator` ahead of a bare model. Its export has
exactly one input, named :data:`LATENT_INPUT` (``"latent"``, shape ``(batch, latent_dim)``,
float32), ``task == "generation"`` and ``latent_input == "latent"``, so the runtime can draw the
noise itself with :func:`draw_latent` when a request gives only ``seed``/``num_samples``.

This module imports no framework; :func:`draw_latent` is shared with the server, so a served
sample equals what a user draws locally with the same seed.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from hub.errors import InvalidInput
from hub.families.tasks import GENERATION

#: Name of a generator's noise input in every export.
LATENT_INPUT = "latent"
#: The ``task`` of a generator's export and model card (in the vocabulary of
#: :mod:`hub.families.tasks`).
GENERATION_TASK = GENERATION
#: Seed used to draw the parity sample when a generator's sample is given as a row count.
PARITY_SEED = 0
#: A family's claim on a :class:`Generator` wrapping a model it takes: ahead of the same model
#: bare (a family claims a bare model object at 50).
GENERATOR_CLAIM = 60


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


def claim_generator(claim: Callable[[Any], int | None], generator: Generator) -> int | None:
    """A family's claim on ``generator``: :data:`GENERATOR_CLAIM` when ``claim`` (the family's
    own claim method) takes the model the generator wraps, else None."""
    return None if claim(generator.model) is None else GENERATOR_CLAIM


def unwrap_generator(model: Any, load: Callable[[Path], Any]) -> tuple[Any, Generator | None]:
    """(the model to export, the :class:`Generator` that wrapped it or None). A wrapped path
    is loaded with ``load`` (the family's own ``load``); any other ``model`` comes back as is."""
    if not isinstance(model, Generator):
        return model, None
    return (load(model.model) if model.is_file else model.model), model


def export_task(
    generator: Generator | None, head_task: Callable[[], str | None]
) -> tuple[str | None, str | None]:
    """An export's ``(task, latent_input)``: :data:`GENERATION_TASK` and :data:`LATENT_INPUT`
    for a generator, else ``head_task()`` (the task read from the model's head) and None."""
    if generator is not None:
        return GENERATION_TASK, LATENT_INPUT
    return head_task(), None


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
