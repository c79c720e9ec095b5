"""The one task vocabulary: what a model does, as the catalog stores and filters it.

Names are the Hugging Face Hub's ``pipeline_tag`` values where one fits
(``tabular-classification``, ``text-classification``, ``image-classification``...), plus
``generation``: a generator (GAN generator, VAE decoder) served with ``seed`` and
``num_samples`` (see :mod:`hub.families.generation`). Families declare tasks with these
names; users may also write a common spelling from :data:`TASK_ALIASES` (``classification``,
``sentiment-analysis``, ``Tabular_Classification``), which :func:`canonical_task` turns into
the catalog's name. Anything else is refused on publish, naming the known tasks.
"""

from __future__ import annotations

from typing import Mapping

from hub.errors import InvalidInput

TABULAR_CLASSIFICATION = "tabular-classification"
TABULAR_REGRESSION = "tabular-regression"
IMAGE_CLASSIFICATION = "image-classification"
TEXT_CLASSIFICATION = "text-classification"
GENERATION = "generation"

#: Every task the catalog knows, with a one-line meaning (``onnxhub tasks`` prints them).
TASKS: Mapping[str, str] = {
    TABULAR_CLASSIFICATION: "class labels (and probabilities) from rows of features",
    TABULAR_REGRESSION: "numeric targets from rows of features",
    "time-series-forecasting": "future values of a series",
    TEXT_CLASSIFICATION: "labels from text",
    "token-classification": "a label per token (e.g. named entities)",
    "zero-shot-classification": "labels from text, the labels given at request time",
    "feature-extraction": "embedding vectors",
    "sentence-similarity": "similarity between sentences",
    "fill-mask": "the missing token of a text",
    "question-answering": "an answer span from a context",
    "summarization": "a shorter text",
    "translation": "text in another language",
    "text-generation": "text continued from a prompt",
    IMAGE_CLASSIFICATION: "labels from images",
    "object-detection": "boxes and labels from images",
    "image-segmentation": "a label per pixel",
    "depth-estimation": "a depth per pixel",
    "image-to-image": "images from images",
    "text-to-image": "images from text",
    "unconditional-image-generation": "images from noise",
    "audio-classification": "labels from audio",
    "automatic-speech-recognition": "text from speech",
    "text-to-speech": "speech from text",
    "reinforcement-learning": "actions from observations",
    GENERATION: "samples from latent noise, served with seed and num_samples",
    "other": "anything else",
}

#: Common spellings and older names -> the catalog's task name.
TASK_ALIASES: Mapping[str, str] = {
    "classification": TABULAR_CLASSIFICATION,
    "classifier": TABULAR_CLASSIFICATION,
    "binary-classification": TABULAR_CLASSIFICATION,
    "multiclass-classification": TABULAR_CLASSIFICATION,
    "regression": TABULAR_REGRESSION,
    "regressor": TABULAR_REGRESSION,
    "forecasting": "time-series-forecasting",
    "sentiment-analysis": TEXT_CLASSIFICATION,
    "text-classifier": TEXT_CLASSIFICATION,
    "ner": "token-classification",
    "embedding": "feature-extraction",
    "embeddings": "feature-extraction",
    "image-classifier": IMAGE_CLASSIFICATION,
    "detection": "object-detection",
    "segmentation": "image-segmentation",
    "asr": "automatic-speech-recognition",
    "generative": GENERATION,
    "generator": GENERATION,
    "latent-generation": GENERATION,
}


def _spelling(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def canonical_task(name: str | None, where: str = "task") -> str | None:
    """The catalog's name for ``name`` (``None`` stays ``None``).

    Case, ``_`` and spaces are forgiven (``Tabular_Classification``); aliases map to their
    task (``classification`` -> ``tabular-classification``). Raises :class:`InvalidInput`
    naming ``where`` and listing the known tasks for anything else.
    """
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where} must be a task name, got {name!r}")
    key = _spelling(name)
    if key in TASKS:
        return key
    if key in TASK_ALIASES:
        return TASK_ALIASES[key]
    raise InvalidInput(
        f"unknown {where} {name!r}; known tasks: {', '.join(sorted(TASKS))} "
        f"(also accepted: {', '.join(sorted(TASK_ALIASES))})"
    )


def task_spellings(name: str) -> tuple[str, ...]:
    """The catalog's name for task ``name`` and every alias of it, to match rows written
    before the vocabulary was enforced (``classification`` for ``tabular-classification``)."""
    canonical = canonical_task(name) or ""
    return (canonical, *sorted(a for a, t in TASK_ALIASES.items() if t == canonical))


def task_from_head(kind: str, input_ranks: list[int]) -> str | None:
    """The task of a network whose head is a classifier or a regressor (``kind``).

    A single 2-D input (rows of features) is tabular; a single 4-D input (images) with a
    classifier head is ``image-classification``; anything else is not guessed (``None``).
    """
    if kind not in ("classification", "regression"):
        raise ValueError(f"kind must be 'classification' or 'regression', not {kind!r}")
    if len(input_ranks) != 1:
        return None
    if input_ranks[0] == 2:
        return TABULAR_CLASSIFICATION if kind == "classification" else TABULAR_REGRESSION
    if input_ranks[0] == 4 and kind == "classification":
        return IMAGE_CLASSIFICATION
    return None
