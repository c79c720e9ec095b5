"""The keras family: real Keras 3 models trained here, exported, run by onnxruntime, compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from hub.catalog.records import TensorSpec  # noqa: E402
from hub.errors import ExportFailed, InvalidInput, InvalidModelFile  # noqa: E402
from hub.export.convert import convert_and_check  # noqa: E402
from hub.families.registry import FamilyRegistry  # noqa: E402
from hub_plugins.keras.family import plugin as keras_plugin  # noqa: E402

pytestmark = [
    # Keras's own saving code trips numpy 2's copy-keyword deprecation; not ours to fix here
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),
]


def _session(model_bytes: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 4-D: 96 training rows then 24 held-out rows."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, size=120)
    x = (centers[y] + rng.standard_normal((120, 4))).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def classifier(blobs: tuple[np.ndarray, np.ndarray]) -> keras.Model:
    """A softmax classifier that must learn the blobs (held-out accuracy above 80%)."""
    keras.utils.set_random_seed(0)
    x, y = blobs
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy")
    model.fit(x[:96], y[:96], epochs=15, batch_size=32, verbose=0)
    accuracy = float(np.mean(model.predict(x[96:], verbose=0).argmax(axis=1) == y[96:]))
    assert accuracy > 0.8
    return model


def test_sequential_classifier_matches_keras_on_held_out_rows(
    registry: FamilyRegistry, classifier: keras.Model, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = blobs
    checked = convert_and_check(registry, classifier, x[96:])

    assert checked.family == "keras" and checked.framework == "keras"
    assert checked.report.passed and checked.report.rows == 24
    assert checked.inputs == (TensorSpec("input", "FP32", (-1, 4)),)
    assert checked.outputs == (TensorSpec("output_0", "FP32", (-1, 3)),)
    assert checked.opset == 17
    assert checked.exported.task == "tabular-classification"
    assert checked.card_defaults["library"] == "keras"

    rows = x[:7]  # a batch size the export never saw
    (probabilities,) = _session(checked.model_bytes).run(None, {"input": rows})
    np.testing.assert_allclose(probabilities, classifier.predict(rows, verbose=0), atol=1e-5)


def _two_input_layers() -> tuple[
    keras.KerasTensor, keras.KerasTensor, keras.KerasTensor, keras.KerasTensor
]:
    keras.utils.set_random_seed(1)
    a = keras.Input((3,), name="numeric")
    b = keras.Input((2,), name="extra")
    hidden = keras.layers.Dense(6, activation="tanh")(keras.layers.Concatenate()([a, b]))
    return a, b, keras.layers.Dense(1)(hidden), keras.layers.Dense(2, activation="sigmoid")(hidden)


def test_functional_model_with_two_inputs_and_two_outputs(registry: FamilyRegistry) -> None:
    a, b, value, flags = _two_input_layers()
    model = keras.Model([a, b], [value, flags])
    rng = np.random.default_rng(1)
    sample = {"numeric": rng.standard_normal((5, 3)), "extra": rng.standard_normal((5, 2))}

    by_name = convert_and_check(registry, model, sample)
    in_order = convert_and_check(registry, model, [sample["numeric"], sample["extra"]])

    assert [s.name for s in by_name.inputs] == ["numeric", "extra"]
    assert [s.name for s in by_name.outputs] == ["output_0", "output_1"]
    assert by_name.report.passed and in_order.report.passed
    assert "task" not in by_name.card_defaults
    feeds = {k: v.astype(np.float32) for k, v in sample.items()}
    onnx_flags = _session(by_name.model_bytes).run(["output_1"], feeds)[0]
    keras_flags = model([feeds["numeric"], feeds["extra"]], training=False)[1]
    np.testing.assert_allclose(onnx_flags, np.asarray(keras_flags), atol=1e-6)


def test_dict_outputs_keep_their_keys(registry: FamilyRegistry) -> None:
    a, b, value, flags = _two_input_layers()
    model = keras.Model({"numeric": a, "extra": b}, {"value": value, "flags": flags})
    rng = np.random.default_rng(2)
    sample = {"numeric": rng.standard_normal((4, 3)), "extra": rng.standard_normal((4, 2))}

    checked = convert_and_check(registry, model, sample)

    assert sorted(s.name for s in checked.outputs) == ["flags", "value"]
    assert {o.name for o in checked.report.outputs} == {"flags", "value"}
    assert checked.report.passed


class Residual(keras.Model):
    """A subclassed model: it has no declared inputs, so the sample gives their shape."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(4)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x + self.dense(x)


def test_subclassed_model(registry: FamilyRegistry) -> None:
    keras.utils.set_random_seed(3)
    sample = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    checked = convert_and_check(registry, Residual(), sample)
    assert checked.report.passed
    assert checked.inputs == (TensorSpec("input", "FP32", (-1, 4)),)


def test_keras_file_and_saved_model_folder(
    registry: FamilyRegistry,
    classifier: keras.Model,
    blobs: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
) -> None:
    x, _ = blobs
    keras_file = tmp_path / "blobs.keras"
    classifier.save(keras_file)
    saved_model = tmp_path / "blobs_savedmodel"
    classifier.export(str(saved_model), verbose=False)

    assert registry.choose_family(keras_file) == "keras"
    assert registry.choose_family(saved_model) == "keras"
    from_file = convert_and_check(registry, keras_file, x[96:])
    from_folder = convert_and_check(registry, saved_model, x[96:])

    assert from_file.report.passed and from_folder.report.passed
    (input_spec,) = from_folder.inputs
    assert input_spec.shape == (-1, 4)
    (output_spec,) = from_folder.outputs
    assert output_spec.name == "output_0"  # the name Keras gives the serving signature's output
    want = classifier.predict(x[:5], verbose=0)
    got = _session(from_folder.model_bytes).run(None, {input_spec.name: x[:5]})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_wrong_sample_shape_names_expected_and_got(
    registry: FamilyRegistry, classifier: keras.Model
) -> None:
    with pytest.raises(
        InvalidInput, match=r"input 'input' expects shape \(batch, 4\), got \(5, 3\)"
    ):
        convert_and_check(registry, classifier, np.zeros((5, 3), dtype=np.float32))
    a, b, value, _ = _two_input_layers()
    with pytest.raises(InvalidInput, match="no data for input.*extra"):
        convert_and_check(registry, keras.Model([a, b], value), {"numeric": np.zeros((2, 3))})


class LogGamma(keras.layers.Layer):
    """Uses a TensorFlow op (Lgamma) that tf2onnx has no ONNX conversion for."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.lgamma(tf.nn.softplus(x) + 1.0)


def test_unsupported_layer_fails_naming_the_layer_and_op(registry: FamilyRegistry) -> None:
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(3),
            LogGamma(name="log_gamma"),
            keras.layers.Dense(1),
        ]
    )
    with pytest.raises(ExportFailed) as info:
        convert_and_check(registry, model, np.ones((2, 3), dtype=np.float32))
    message = str(info.value)
    assert "'log_gamma' (LogGamma)" in message and "Lgamma" in message and "'keras'" in message
    assert "\n" not in message


def test_files_of_another_framework_or_corrupt_are_refused(
    registry: FamilyRegistry, classifier: keras.Model, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    keras_file = tmp_path / "classifier.keras"
    classifier.save(keras_file)
    with pytest.raises(InvalidModelFile, match="not a PyTorch model file"):
        convert_and_check(registry, keras_file, np.zeros((2, 4)), family="torch")
    renamed = tmp_path / "classifier.pt"
    renamed.write_bytes(keras_file.read_bytes())
    with pytest.raises(InvalidModelFile, match="is a Keras model.*use family 'keras'"):
        convert_and_check(registry, renamed, np.zeros((2, 4)))

    torchscript = tmp_path / "linear.keras"
    torch.jit.save(torch.jit.script(torch.nn.Linear(4, 1)), str(torchscript))
    with pytest.raises(InvalidModelFile, match="PyTorch file.*use family 'torch'"):
        convert_and_check(registry, torchscript, np.zeros((2, 4)))

    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InvalidModelFile, match="not a Keras archive"):
        convert_and_check(registry, corrupt, np.zeros((2, 4)))

    empty_folder = tmp_path / "not_a_savedmodel"
    empty_folder.mkdir()
    with pytest.raises(InvalidModelFile, match="without saved_model.pb"):
        registry.load_model("keras", empty_folder)


def test_conformance_case_builds_and_passes(registry: FamilyRegistry, tmp_path: Path) -> None:
    (case,) = keras_plugin.conformance_cases()
    model, sample = case.build(tmp_path)
    checked = convert_and_check(registry, model, sample, family=case.family)
    assert checked.report.passed


def test_plugin_import_is_light_and_declares_its_install_hint(registry: FamilyRegistry) -> None:
    code = "import sys, hub_plugins.keras.family; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    info = registry.family("keras").info
    assert info.install_hint == "pip install 'onnxhub[tf]'" and info.available
