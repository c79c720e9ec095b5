"""``onnxhub export triton``: a Triton model repository checked against Triton's own schema.

Each ``config.pbtxt`` is parsed with protobuf's text format into the ``ModelConfig`` message of
Triton's ``model_config.proto`` (as compiled in tritonclient), so an unknown field, a wrong
enum or a malformed value fails the test. The exported ``model.onnx`` is then run the way
Triton would batch it: a batch built from the config's dims must give outputs of the config's
dims, and the values must equal scikit-learn's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from google.protobuf import text_format
from onnx_graphs import all_types_model, all_types_sample, scale_model
from tritonclient.grpc import model_config_pb2

from hub.api import Hub
from hub.cli.main import cli
from hub.settings import Settings

CARD = "---\nserving:\n  max_batch_size: 16\n  max_batch_time: 0.005\n---\n\nIris.\n"
NUMPY_OF_TRITON = {
    "TYPE_BOOL": np.bool_,
    "TYPE_UINT8": np.uint8,
    "TYPE_UINT16": np.uint16,
    "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64,
    "TYPE_INT8": np.int8,
    "TYPE_INT16": np.int16,
    "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64,
    "TYPE_FP16": np.float16,
    "TYPE_FP32": np.float32,
    "TYPE_FP64": np.float64,
    "TYPE_STRING": np.object_,
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logreg) -> Path:
    home = tmp_path / "home"
    for name in ("ONNXHUB_DATABASE_URL", "ONNXHUB_ARTIFACTS", "ONNXHUB_MODEL_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    model, X = logreg
    with Hub(Settings.from_env()) as hub:
        hub.publish(model, name="iris", sample=X, card=CARD, alias="production")
        hub.publish(scale_model(3.0, batch=2), name="pair", sample=np.ones((2, 3), np.float32))
        hub.publish(all_types_model(), name="types", sample=all_types_sample())
    return home


def _export(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", "triton", *args], catch_exceptions=False)
    return result.exit_code, result.output


def _config(folder: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


def _type_name(value: int) -> str:
    return model_config_pb2.DataType.Name(value)


def _run_as_triton_batches(folder: Path, config, feeds_rows: dict[str, np.ndarray]) -> dict:
    """Run version folder's model.onnx on a batch shaped by the config, check output dims."""
    version = config.version_policy.specific.versions[0]
    session = ort.InferenceSession(
        str(folder / str(version) / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    rows = len(next(iter(feeds_rows.values())))
    for spec in config.input:
        array = feeds_rows[spec.name]
        assert array.dtype == NUMPY_OF_TRITON[_type_name(spec.data_type)]
        expected = [rows, *spec.dims] if config.max_batch_size else list(spec.dims)
        assert all(d == -1 or d == s for d, s in zip(expected, array.shape))
    names = [o.name for o in config.output]
    outputs = dict(zip(names, session.run(names, feeds_rows)))
    for spec in config.output:
        dims = list(spec.reshape.shape) if spec.HasField("reshape") else list(spec.dims)
        expected = [rows, *dims] if config.max_batch_size else dims
        got = list(outputs[spec.name].shape)
        assert len(got) == len(expected) and all(e in (-1, g) for e, g in zip(expected, got))
        assert outputs[spec.name].dtype == NUMPY_OF_TRITON[_type_name(spec.data_type)]
    return outputs


def test_repository_configs_parse_as_triton_model_configs(home: Path, tmp_path: Path, logreg):
    repo = tmp_path / "repo"
    code, output = _export(str(repo), "--json")
    assert code == 0, output
    written = {m["name"]: m for m in json.loads(output)}
    assert sorted(written) == ["iris", "pair", "types"]
    assert sorted(p.name for p in repo.iterdir()) == ["iris", "pair", "types"]  # no leftovers

    # iris: batched, with the card's serving options.
    iris = _config(repo / "iris")
    assert (iris.name, iris.platform, iris.max_batch_size) == ("iris", "onnxruntime_onnx", 16)
    assert list(iris.version_policy.specific.versions) == [1]
    assert [(i.name, _type_name(i.data_type), list(i.dims)) for i in iris.input] == [
        ("input", "TYPE_FP32", [4])
    ]
    outputs = {o.name: o for o in iris.output}
    assert _type_name(outputs["label"].data_type) == "TYPE_INT64"
    assert list(outputs["label"].dims) == [1] and list(outputs["label"].reshape.shape) == []
    assert list(outputs["probabilities"].dims) == [3]
    assert iris.dynamic_batching.max_queue_delay_microseconds == 5000
    assert iris.dynamic_batching.default_queue_policy.max_queue_size == 1024
    assert [(g.count, g.kind) for g in iris.instance_group] == [
        (1, model_config_pb2.ModelInstanceGroup.KIND_AUTO)
    ]
    blob = (repo / "iris" / "1" / "model.onnx").read_bytes()
    with Hub(Settings.from_env()) as hub:
        assert hashlib.sha256(blob).hexdigest() == hub.get_version("iris").sha256
    model, X = logreg
    got = _run_as_triton_batches(repo / "iris", iris, {"input": X[:7]})
    np.testing.assert_array_equal(got["label"], model.predict(X[:7]))
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X[:7]), atol=1e-5)

    # pair: a fixed batch of 2 cannot be batched by Triton: full dims, no dynamic batching.
    pair = _config(repo / "pair")
    assert pair.max_batch_size == 0 and not pair.HasField("dynamic_batching")
    assert [list(i.dims) for i in pair.input] == [[2, 3]]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(_run_as_triton_batches(repo / "pair", pair, {"x": x})["y"], x * 3)

    # types: every datatype maps onto its Triton type (BYTES is TYPE_STRING).
    types = _config(repo / "types")
    assert types.max_batch_size == 64  # the settings' default
    mapped = {i.name: _type_name(i.data_type) for i in types.input}
    assert mapped["in_bytes"] == "TYPE_STRING" and mapped["in_fp16"] == "TYPE_FP16"
    assert len(set(mapped.values())) == 13
    sample = all_types_sample(rows=5)
    got = _run_as_triton_batches(repo / "types", types, sample)
    for name, array in sample.items():
        np.testing.assert_array_equal(got["out_" + name[3:]], array)


def test_models_option_versions_and_model_options(
    home: Path, tmp_path: Path, logreg, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X = logreg
    with Hub(Settings.from_env()) as hub:
        hub.publish(model, name="iris", sample=X[:10], card=CARD)  # version 2, same signature
    monkeypatch.setenv("ONNXHUB_MODEL_OPTIONS", '{"iris": {"max_queue": 7, "run_concurrency": 2}}')
    repo = tmp_path / "repo"
    code, output = _export(str(repo), "--models", "iris@production,iris:2")
    assert code == 0, output
    assert sorted(p.name for p in repo.iterdir()) == ["iris"]
    assert sorted(p.name for p in (repo / "iris").iterdir()) == ["1", "2", "config.pbtxt"]
    config = _config(repo / "iris")
    assert list(config.version_policy.specific.versions) == [1, 2]
    assert config.max_batch_size == 16  # card, not overridden
    assert config.dynamic_batching.default_queue_policy.max_queue_size == 7
    assert config.instance_group[0].count == 2

    # An existing folder is refused (exit 4, nothing changed) unless --overwrite.
    before = (repo / "iris" / "config.pbtxt").read_text()
    code, output = _export(str(repo), "-m", "iris")
    assert code == 4 and "pass --overwrite" in output
    assert (repo / "iris" / "config.pbtxt").read_text() == before
    code, output = _export(str(repo), "-m", "iris", "--overwrite")
    assert code == 0, output
    assert sorted(p.name for p in (repo / "iris").iterdir()) == ["1", "config.pbtxt"]
    assert sorted(p.name for p in repo.iterdir()) == ["iris"]


def test_bad_references_and_mixed_signatures_are_refused(home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    code, output = _export(str(repo), "-m", "nosuch")
    assert code == 3 and "nosuch" in output
    code, output = _export(str(repo), "-m", "iris:x")
    assert code == 2
    with Hub(Settings.from_env()) as hub:
        hub.publish(scale_model(2.0, width=5), name="pair", sample=np.ones((2, 5), np.float32))
    code, output = _export(str(repo), "-m", "pair:1", "-m", "pair:2")
    assert code == 2 and "different inputs or outputs" in output
    assert not repo.exists() or list(repo.iterdir()) == []
