"""The values exchanged between the hub and family plugins, every field documented.

Shapes are written ``[rows, features]``: the first dimension is always the batch (rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # plugins need not import onnx for the hint
    from onnx import ModelProto

#: One input's rows: a numpy array ``[rows, ...]`` or anything :func:`numpy.asarray` takes
#: (nested lists, a torch or TensorFlow tensor: they implement ``__array__``).
ArrayData: TypeAlias = npt.ArrayLike

#: The held-out rows a model is exported and checked on, as the framework takes them:
#:
#: - one array ``[rows, features]`` (or ``[rows, ...]``) for a single-input model;
#: - a mapping of input name to array for a multi-input model (scikit-learn column groups, a
#:   torch module's keyword arguments), each ``[rows, ...]`` with the same row count;
#: - a tuple of arrays for a torch module's positional arguments;
#: - an ``int`` row count for a generator (the hub draws the latent noise, see
#:   :func:`hub.families.latent_sample`);
#: - ``None`` only for a family whose :attr:`FamilyInfo.needs_sample` is False (it makes its
#:   own, as the onnx family does from the graph's signature).
#:
#: A family documents which of these it accepts and refuses the others with
#: :class:`hub.errors.InvalidInput`.
SampleData: TypeAlias = ArrayData | Mapping[str, ArrayData] | tuple[ArrayData, ...] | int | None


@dataclass(frozen=True)
class FamilyInfo:
    """What a family declares about itself when registered (``onnxhub plugins`` lists it).

    Families must build it quickly (``importlib.util.find_spec``), never by importing their
    framework: every plugin is asked at start-up.
    """

    #: The family's name: lowercase identifier, unique among installed plugins (``"catboost"``);
    #: users pass it as ``--family`` / ``family=``.
    name: str
    #: The framework's import name (``"catboost"``); its ``__version__`` is what the family
    #: records in :attr:`ExportedModel.framework_version`, and the default card ``library``.
    framework: str
    #: One line for listings: which models the family handles.
    summary: str
    #: Lowercase file suffixes (with the dot) the family loads with ``load``, e.g. ``(".cbm",)``;
    #: the default ``claim`` gives 100 to a path with one of them.
    file_suffixes: tuple[str, ...] = ()
    #: False when the framework (or its converter) is not installed: the family claims nothing,
    #: offers no conformance cases, and asking for it raises with :attr:`install_hint`.
    available: bool = True
    #: What to install to make the family available: the framework's own distributions
    #: (``"pip install catboost"``), not the family's. Required when ``available`` is False.
    install_hint: str | None = None
    #: False for a family that can check its export without the caller's sample (it makes
    #: one, as the onnx family does from the graph's signature); the hub then accepts none.
    needs_sample: bool = True


@dataclass(frozen=True)
class Claim:
    """A family's bid to handle a model object or file; the highest ``score`` wins."""

    #: The bidding family's :attr:`FamilyInfo.name`.
    family: str
    #: 10 for a generic match (any scikit-learn estimator), 50 for a specific one (an XGBoost
    #: booster, or a Pipeline ending in one), 100 for an exact file format. A tie between the
    #: top two is an error the user resolves with ``--family``.
    score: int = 10


@dataclass
class ExportedModel:
    """An ONNX export and what the hub needs to check it (returned by ``export``)."""

    #: The exported graph (an ``onnx.ModelProto``). Every input has a dynamic first (batch)
    #: dimension; inputs and outputs are tensors (no ZipMap: see
    #: :func:`hub.families.normalize_onnx`); the default ``ai.onnx`` domain is imported; a fixed
    #: graph name keeps exports byte-reproducible. Tabular conventions: input ``input``
    #: (float32 ``[rows, features]``); outputs ``label`` (``[rows]``, the classes' dtype) and
    #: ``probabilities`` (float32 ``[rows, classes]``) for a classifier, ``variable`` (float32
    #: ``[rows, targets]``) for a regressor.
    model: ModelProto
    #: The sample as the graph's inputs: one array per graph input, keyed by input name, in the
    #: input's dtype (``np.float32`` for ``FP32``, ``np.int64``, an object array of ``str`` for
    #: string tensors), each ``[rows, ...]`` with the same rows. onnxruntime runs exactly these,
    #: and the framework should predict on the same values (read them back in ``predict``).
    feeds: dict[str, np.ndarray]
    #: The framework's version string (``catboost.__version__``), stored with the version.
    framework_version: str
    #: Names of outputs holding class labels: compared by the fraction of mismatching rows,
    #: not by numeric error. Usually ``("label",)`` for a classifier, ``()`` otherwise.
    label_outputs: tuple[str, ...] = ()
    #: The task the export performs when the family knows it: ``"classification"``,
    #: ``"regression"``, ``"generation"`` (see :data:`hub.families.GENERATION_TASK`); None
    #: when unknown. The card's ``task`` comes from ``card_defaults``.
    task: str | None = None
    #: For a generator (``task == "generation"``): the name of its noise input, float32
    #: ``[rows, latent_dim]``; the runtime draws it when a request sends no inputs.
    latent_input: str | None = None
    #: Free-form facts stored with the version (``{"converter": "onnxmltools 1.13",
    #: "estimator": "XGBClassifier"}``): strings only, shown on the model page.
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConformanceCase:
    """A tiny model a family offers to the shared conformance suite (:mod:`hub.families.testing`)."""

    #: The family that must claim and export the model (:attr:`FamilyInfo.name`).
    family: str
    #: A short name unique within the family (``"classifier"``, ``"ubj-file"``): the test id.
    name: str
    #: ``build(tmp_path)`` trains (or writes) the model in well under a second and returns
    #: ``(model, sample)``: a framework object, or a :class:`~pathlib.Path` to a saved file
    #: inside ``tmp_path`` (then loading is proven too), and held-out rows as :data:`SampleData`
    #: with a feature axis (the suite sends one feature too many and too few).
    build: Callable[[Path], tuple[Any, SampleData]]
    #: Formats of :data:`hub.families.saving.SAVE_FORMATS` (``"joblib"``, ``"pickle"``) the
    #: built model is also saved in; the suite proves the family loads each file back, named
    #: with ``--family`` and found by claims. List every format your users commonly save in.
    saved_as: tuple[str, ...] = ()
