"""The built-in ``keras`` family: Keras 3 models and TensorFlow SavedModels to ONNX.

What it takes:

* a Keras 3 ``Sequential``, functional or subclassed model object (sample: one array, or a dict
  keyed by input name / a list in input order for several inputs);
* a ``.keras`` file (``model.save``), or a legacy ``.h5`` file when the family is named;
* a SavedModel folder (holding ``saved_model.pb``, e.g. from ``model.export(path)``), served
  through its ``serving_default`` signature;
* a :class:`hub.families.generation.Generator` wrapping any of those (claimed ahead of a bare
  model): exported with one input ``latent`` and ``task == "generation"``.

Input and output names are described in :mod:`hub_plugins.keras.export`. TensorFlow is imported
lazily, so listing plugins stays fast.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInput, InvalidModelFile
from hub.families import (
    DEFAULT_OPSET,
    LATENT_INPUT,
    ConformanceCase,
    ExportedModel,
    FamilyInfo,
    FamilyPlugin,
    Generator,
    SampleData,
    claim_generator,
    export_task,
    generator_card_defaults,
    latent_sample,
    task_from_head,
    unwrap_generator,
)
from hub_plugins.keras import export as keras_export
from hub_plugins.keras.export import InputSpec, SavedModelSignature

FAMILY = keras_export.FAMILY
SAVED_MODEL_FILE = "saved_model.pb"
_AVAILABLE = all(
    importlib.util.find_spec(m) is not None for m in ("tensorflow", "tf2onnx", "keras")
)


def is_keras_model(model: Any) -> bool:
    """A Keras 3 model object, recognised by its classes' modules (no TensorFlow import)."""
    return any(
        cls.__name__ == "Model" and cls.__module__.split(".")[0] == "keras"
        for cls in type(model).__mro__
    )


def is_saved_model_dir(path: Path) -> bool:
    """A folder holding a TensorFlow SavedModel."""
    return path.is_dir() and (path / SAVED_MODEL_FILE).is_file()


def _check_keras_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            leaves = {name.rsplit("/", 1)[-1] for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidModelFile(
            f"{path.name} is not a Keras archive ({exc}); save the model with model.save('x.keras')"
        ) from None
    if leaves & {"constants.pkl", "data.pkl", "archive_format"}:
        raise InvalidModelFile(
            f"{path.name} is a PyTorch file, not a Keras one; use family 'torch'"
        )
    if "config.json" not in leaves:
        raise InvalidModelFile(
            f"{path.name} is a zip file but not a Keras archive (no config.json)"
        )


def load_saved_model(path: Path) -> SavedModelSignature:
    """Load a SavedModel folder and pick its ``serving_default`` (or only) signature."""
    tf = keras_export.import_tensorflow()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        first = keras_export.error_line(exc)
        raise InvalidModelFile(f"{path.name} is not a loadable SavedModel: {first}") from None
    signatures = dict(loaded.signatures)
    if "serving_default" in signatures:
        name = "serving_default"
    elif len(signatures) == 1:
        name = next(iter(signatures))
    else:
        found = ", ".join(sorted(signatures)) or "none"
        raise InvalidModelFile(
            f"{path.name} has no serving_default signature to export (signatures: {found})"
        )
    return SavedModelSignature(loaded, signatures[name], name, path.name)


def load_keras_file(path: Path) -> Any:
    """Load a ``.keras``/``.h5`` file or a SavedModel folder."""
    if path.is_dir():
        if not is_saved_model_dir(path):
            raise InvalidModelFile(
                f"{path.name} is a folder without {SAVED_MODEL_FILE}: not a TensorFlow SavedModel"
            )
        return load_saved_model(path)
    suffix = path.suffix.lower()
    if suffix not in (".keras", ".h5"):
        raise InvalidModelFile(
            f"{path.name} is not a Keras model file; family {FAMILY!r} reads .keras files, "
            "legacy .h5 files and SavedModel folders"
        )
    if suffix == ".keras":
        _check_keras_archive(path)
    keras_export.import_tensorflow()
    import keras

    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as exc:
        first = keras_export.error_line(exc)
        raise InvalidModelFile(f"{path.name} could not be loaded by Keras: {first}") from None


def _head_task(model: Any, feeds: dict[str, np.ndarray]) -> str | None:
    """The task of a model ending in one Dense layer (softmax/sigmoid: a classifier)."""
    layers = getattr(model, "layers", None) or []
    outputs = getattr(model, "outputs", None) or []
    if not layers or len(outputs) != 1 or type(layers[-1]).__name__ != "Dense":
        return None
    activation = getattr(layers[-1].activation, "__name__", "")
    kind = "classification" if activation in ("softmax", "sigmoid") else "regression"
    return task_from_head(kind, [np.ndim(a) for a in feeds.values()])


class KerasFamily(FamilyPlugin):
    """Keras 3 models and SavedModels, exported with tf2onnx through a typed tf.function."""

    info = FamilyInfo(
        name=FAMILY,
        framework="keras",
        summary="Keras 3 models, .keras files and TensorFlow SavedModel folders",
        file_suffixes=(".keras",),
        available=_AVAILABLE,
        install_hint="pip install 'onnxhub[tf]'",
    )

    def claim(self, model: Any) -> int | None:
        if isinstance(model, Generator):
            return claim_generator(self.claim, model)
        if isinstance(model, Path):
            if is_saved_model_dir(model) or (model.suffix.lower() == ".keras" and model.is_file()):
                return 100
            return None
        if isinstance(model, SavedModelSignature):
            return 100
        return 50 if is_keras_model(model) else None

    def load(self, path: Path) -> Any:
        return load_keras_file(path)

    def _resolve(self, model: Any) -> tuple[Any, Generator | None]:
        model, generator = unwrap_generator(model, self.load)
        if not (isinstance(model, SavedModelSignature) or is_keras_model(model)):
            raise InvalidInput(
                f"family {FAMILY!r} exports Keras models and TensorFlow SavedModels, "
                f"not {type(model).__module__}.{type(model).__qualname__}"
            )
        if generator is not None and isinstance(model, SavedModelSignature):
            # a signature is called by its own input names, so it cannot take "latent"
            raise InvalidInput(
                "a Generator must wrap a Keras model or .keras file, not a SavedModel folder"
            )
        return model, generator

    def _specs(self, model: Any, generator: Generator | None, sample: Any) -> list[InputSpec]:
        if isinstance(model, SavedModelSignature):
            specs = model.input_specs()
        else:
            specs = keras_export.keras_input_specs(model, sample)
        if generator is None:
            return specs
        if (
            len(specs) != 1
            or len(specs[0].shape) != 2
            or specs[0].shape[1]
            not in (
                None,
                generator.latent_dim,
            )
        ):
            declared = ", ".join(str(s.shape) for s in specs)
            raise InvalidInput(
                f"a generator takes one (batch, {generator.latent_dim}) latent input; "
                f"this model takes {declared}"
            )
        spec = specs[0]
        return [InputSpec(LATENT_INPUT, spec.key, (spec.shape[0], generator.latent_dim), "float32")]

    def _prepare(
        self, model: Any, sample: SampleData
    ) -> tuple[Any, Generator | None, list[InputSpec], dict[str, np.ndarray]]:
        target, generator = self._resolve(model)
        if generator is not None:
            sample = latent_sample(sample, generator.latent_dim)
        specs = self._specs(target, generator, sample)
        feeds = keras_export.sample_feeds(sample, specs)
        return target, generator, specs, feeds

    def _run(self, target: Any, specs: list[InputSpec], feeds: dict[str, np.ndarray]) -> Any:
        if isinstance(target, SavedModelSignature):
            # a SavedModel's signature is keyed by its own names, which the feeds already use
            return keras_export.run_saved_model(target, feeds)
        return keras_export.run_keras(target, specs, feeds)

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        target, generator, specs, feeds = self._prepare(model, sample)
        self._run(target, specs, feeds)  # a sample that does not fit fails here, clearly
        onnx_model = keras_export.convert(target, specs, opset or DEFAULT_OPSET)
        tf = keras_export.import_tensorflow()
        import keras

        is_saved = isinstance(target, SavedModelSignature)
        task, latent_input = export_task(generator, lambda: _head_task(target, feeds))
        return ExportedModel(
            model=onnx_model,
            feeds=feeds,
            framework_version=tf.__version__ if is_saved else keras.__version__,
            task=task,
            latent_input=latent_input,
            metadata={
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "source": target.source if is_saved else type(target).__name__,
            },
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        target, _, specs, feeds = self._prepare(model, sample)
        return self._run(target, specs, feeds)

    def card_defaults(self, model: Any) -> dict[str, Any]:
        if isinstance(model, Generator):
            return generator_card_defaults("keras")
        return {"library": "keras", "tags": ["keras", "tensorflow"]}

    def conformance_cases(self) -> list[ConformanceCase]:
        return [ConformanceCase(FAMILY, "keras-dense-classifier", _build_classifier)]


def _build_classifier(tmp_path: Path) -> tuple[Any, SampleData]:
    """A Dense softmax classifier fitted for 3 epochs on 64 rows; 8 held-out rows as sample."""
    keras_export.import_tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((72, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:64], y[:64], epochs=3, batch_size=16, verbose=0)
    return model, x[64:]


plugin = KerasFamily()
