"""Keras 3 and TensorFlow SavedModels to ONNX through tf2onnx's ``from_function``.

``tf2onnx.convert.from_keras`` fails on Keras 3 models, so every model is wrapped in a
``tf.function`` with an explicit input signature whose batch dimension is ``None``.

Names in every export:

* inputs: a single-input Keras model's input is ``input`` (``latent`` for a generator); a model
  with several inputs keeps the names of its ``keras.Input`` layers (or its dict keys when it
  takes a dict); a SavedModel keeps its serving signature's names;
* outputs: ``output_0``, ``output_1``... in the order the model returns them; a model returning
  a dict keeps its keys, and a SavedModel keeps its signature's output keys.

TensorFlow and tf2onnx are imported inside functions only.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from hub.errors import ExportFailed, InvalidInput

FAMILY = "keras"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class InputSpec:
    """One graph input: its ONNX name, how the model is fed it, its shape and dtype."""

    name: str
    key: str | int | None  # dict key, list position, or None for a single tensor
    shape: tuple[int | None, ...]
    dtype: str


@dataclass
class SavedModelSignature:
    """A loaded TensorFlow SavedModel's serving signature (keeps the loaded object alive)."""

    loaded: Any
    function: Any
    signature_name: str
    source: str

    def input_specs(self) -> list[InputSpec]:
        _, kwargs = self.function.structured_input_signature
        return [
            InputSpec(name, name, tuple(spec.shape.as_list()), spec.dtype.name)
            for name, spec in sorted(kwargs.items())
        ]


def import_tensorflow() -> Any:
    """Import TensorFlow quietly (its C++ start-up banner is noise for hub users)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def error_line(exc: BaseException) -> str:
    """The one informative line of a Keras/TensorFlow error (Keras wraps it in a preamble)."""
    text = _ANSI.sub("", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("Exception encountered when calling")]
    return (useful or lines or [type(exc).__name__])[0]


def _shape_text(dims: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("batch" if d is None else str(d) for d in dims) + ")"


def keras_input_specs(model: Any, sample: Any) -> list[InputSpec]:
    """The model's inputs from its own ``model.input``, or from the sample for subclassed ones."""
    try:
        structure = model.input
    except (AttributeError, ValueError):
        # a Sequential model declares model.inputs but raises on model.input
        inputs = getattr(model, "inputs", None) or []
        structure = inputs[0] if len(inputs) == 1 else (list(inputs) or None)
    if structure is None:
        return _specs_from_sample(sample)
    if isinstance(structure, Mapping):
        return [
            InputSpec(str(k), k, (None, *tuple(t.shape)[1:]), str(t.dtype))
            for k, t in structure.items()
        ]
    if isinstance(structure, (list, tuple)) and len(structure) != 1:
        return [
            InputSpec(t.name, i, (None, *tuple(t.shape)[1:]), str(t.dtype))
            for i, t in enumerate(structure)
        ]
    tensor = structure[0] if isinstance(structure, (list, tuple)) else structure
    key = 0 if isinstance(structure, (list, tuple)) else None
    return [InputSpec("input", key, (None, *tuple(tensor.shape)[1:]), str(tensor.dtype))]


def _specs_from_sample(sample: Any) -> list[InputSpec]:
    def spec(name: str, key: Any, value: Any) -> InputSpec:
        array = np.asarray(value)
        dtype = "float32" if array.dtype.kind == "f" else str(array.dtype)
        return InputSpec(name, key, (None, *array.shape[1:]), dtype)

    if isinstance(sample, Mapping):
        return [spec(str(k), k, v) for k, v in sample.items()]
    if isinstance(sample, (list, tuple)) and len(sample) > 1:
        return [spec(f"input_{i}", i, v) for i, v in enumerate(sample)]
    return [spec("input", None, sample[0] if isinstance(sample, (list, tuple)) else sample)]


def _pick(sample: Any, specs: list[InputSpec]) -> Iterator[tuple[InputSpec, Any]]:
    if len(specs) == 1 and not isinstance(sample, (Mapping, list, tuple)):
        yield specs[0], sample
        return
    if isinstance(sample, Mapping):
        if len(specs) == 1 and len(sample) == 1:
            yield specs[0], next(iter(sample.values()))
            return
        missing = [s.name for s in specs if s.name not in sample]
        if missing:
            raise InvalidInput(
                f"the sample has no data for input(s) {', '.join(missing)} "
                f"(the model takes {', '.join(s.name for s in specs)}; "
                f"got {', '.join(map(str, sample))})"
            )
        for spec in specs:
            yield spec, sample[spec.name]
        return
    if isinstance(sample, (list, tuple)) and len(sample) == len(specs):
        yield from zip(specs, sample)
        return
    raise InvalidInput(
        f"the model takes {len(specs)} input(s) ({', '.join(s.name for s in specs)}); pass the "
        "sample as a dict keyed by those names or a list in that order"
    )


def sample_feeds(sample: Any, specs: list[InputSpec]) -> dict[str, np.ndarray]:
    """The sample as arrays keyed by ONNX input name, checked against the declared shapes."""
    if sample is None:
        raise InvalidInput("family 'keras' needs sample input rows")
    feeds: dict[str, np.ndarray] = {}
    for spec, value in _pick(sample, specs):
        try:
            array = np.asarray(value).astype(spec.dtype)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"input {spec.name!r} cannot be read as {spec.dtype}: {exc}"
            ) from None
        got = tuple(array.shape)
        if len(got) != len(spec.shape) or any(
            want is not None and want != have for want, have in zip(spec.shape, got)
        ):
            raise InvalidInput(
                f"input {spec.name!r} expects shape {_shape_text(spec.shape)}, got {got}"
            )
        if got[0] == 0:
            raise InvalidInput(f"input {spec.name!r} has no rows")
        feeds[spec.name] = array
    return feeds


def model_arguments(specs: list[InputSpec], tensors: list[Any]) -> Any:
    """Arrange tensors the way the model was built to take them."""
    if len(specs) == 1 and specs[0].key is None:
        return tensors[0]
    if all(isinstance(s.key, int) for s in specs):
        return list(tensors)
    return {s.key: t for s, t in zip(specs, tensors)}


def name_outputs(outputs: Any) -> dict[str, Any]:
    """``output_0``... in order, or a flat dict's own keys (sorted, as TensorFlow flattens it)."""
    if isinstance(outputs, Mapping) and all(
        not isinstance(v, (Mapping, list, tuple)) for v in outputs.values()
    ):
        return {str(k): outputs[k] for k in sorted(outputs)}
    tf = import_tensorflow()
    return {f"output_{i}": t for i, t in enumerate(tf.nest.flatten(outputs))}


def run_keras(
    model: Any, specs: list[InputSpec], feeds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The model's eager outputs (inference mode), keyed by ONNX output name."""
    tf = import_tensorflow()
    tensors = [tf.constant(feeds[s.name]) for s in specs]
    try:
        outputs = model(model_arguments(specs, tensors), training=False)
    except Exception as exc:
        first = error_line(exc)
        shapes = ", ".join(f"{n} {tuple(a.shape)}" for n, a in feeds.items())
        raise InvalidInput(f"the sample ({shapes}) does not fit the Keras model: {first}") from None
    return {name: np.asarray(value) for name, value in name_outputs(outputs).items()}


def run_saved_model(
    signature: SavedModelSignature, feeds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The SavedModel signature's outputs, keyed by its output names."""
    tf = import_tensorflow()
    try:
        outputs = signature.function(**{k: tf.constant(v) for k, v in feeds.items()})
    except Exception as exc:
        first = error_line(exc)
        raise InvalidInput(f"the sample does not fit the SavedModel: {first}") from None
    return {name: np.asarray(value) for name, value in name_outputs(outputs).items()}


def serving_function(target: Any, specs: list[InputSpec]) -> Any:
    """A ``tf.function`` over ``target`` (Keras model or signature) with a typed signature."""
    tf = import_tensorflow()
    signature = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=s.name) for s in specs]

    if isinstance(target, SavedModelSignature):
        names = [s.name for s in specs]

        @tf.function(input_signature=signature, autograph=False)
        def serve_signature(*tensors: Any) -> Any:
            return name_outputs(target.function(**dict(zip(names, tensors))))

        return serve_signature

    @tf.function(input_signature=signature, autograph=False)
    def serve_model(*tensors: Any) -> Any:
        return name_outputs(target(model_arguments(specs, list(tensors)), training=False))

    return serve_model


def _layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", None) or []:
        yield layer
        yield from _layers(layer)


def _layer_of(node_name: str, model: Any) -> Any | None:
    """The deepest Keras layer whose name scope contains ``node_name`` (Keras may add ``_1``)."""
    by_name = {layer.name: layer for layer in _layers(model)}
    found = None
    for part in node_name.split("/"):
        for name, layer in by_name.items():
            if part == name or re.fullmatch(re.escape(name) + r"_\d+", part):
                found = layer
    return found


def _unsupported_nodes(onnx_model: Any) -> list[Any]:
    import onnx

    return [
        node
        for node in onnx_model.graph.node
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type, node.domain)
    ]


def convert(target: Any, specs: list[InputSpec], opset: int) -> Any:
    """Run tf2onnx on ``target``; ExportFailed names the layer and TF op it cannot convert."""
    import_tensorflow()
    import tf2onnx

    function = serving_function(target, specs)
    tf_logger = logging.getLogger("tf2onnx")
    level = tf_logger.level
    tf_logger.setLevel(logging.CRITICAL)
    try:
        onnx_model, _ = tf2onnx.convert.from_function(
            function, input_signature=function.input_signature, opset=opset
        )
    except Exception as exc:
        first = error_line(exc)
        raise ExportFailed(
            f"family {FAMILY!r}: tf2onnx could not convert the model: {first}"
        ) from None
    finally:
        tf_logger.setLevel(level)
    unsupported = _unsupported_nodes(onnx_model)
    if unsupported:
        node = unsupported[0]
        ops = sorted({n.op_type for n in unsupported})
        layer = None if isinstance(target, SavedModelSignature) else _layer_of(node.name, target)
        where = (
            f"layer {layer.name!r} ({type(layer).__name__})"
            if layer is not None
            else (f"node {node.name!r}")
        )
        raise ExportFailed(
            f"family {FAMILY!r} cannot export {where}: TensorFlow op(s) {', '.join(ops)} "
            f"have no ONNX conversion in tf2onnx (opset {opset})"
        )
    return onnx_model
