"""Issue 9 items 5, 6, 10 and 11: what publishing accepts, and what it refuses before writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper
from onnx_graphs import all_types_model, generator_model, model_of, scale_model

from hub.api import Hub
from hub.cli.main import cli
from hub.errors import InvalidInput
from hub.export.cards import parse_card
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def local(home: Path):  # type: ignore[no-untyped-def]
    with Hub(Settings.for_home(home)) as hub:
        yield hub


# -- item 5: publishing an ONNX file never needs a sample ----------------------------------------


def _text_classifier(tmp_path: Path) -> Path:
    """The issue's example: a skl2onnx text classifier, whose input is a string tensor."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["good model", "bad model", "good hub", "bad text", "good onnx", "bad onnx"] * 3
    labels = [1, 0, 1, 0, 1, 0] * 3
    pipeline = make_pipeline(TfidfVectorizer(lowercase=False), LogisticRegression()).fit(
        texts, labels
    )
    model = to_onnx(
        pipeline,
        initial_types=[("text", StringTensorType([None, 1]))],
        options={id(pipeline.steps[-1][1]): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path = tmp_path / "text.onnx"
    onnx.save(model, str(path))
    return path


def test_string_input_onnx_file_publishes_without_sample(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _text_classifier(tmp_path)
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    result = CliRunner().invoke(cli, ["publish", str(path), "--name", "text"])
    assert result.exit_code == 0, result.output
    assert "published text:1 (onnx" in result.output
    shown = CliRunner().invoke(cli, ["show", "text"])
    assert "test data synthetic inputs (no sample was given)" in shown.output
    with Hub(Settings.for_home(home)) as hub:
        predictor = hub.open("text")
        labels = predictor.predict({"text": np.array([["good model"], ["bad text"]], dtype=object)})
        assert labels["label"].tolist() == [1, 0]
        version, report = hub.check("text")
        assert report.passed and version.test_data_sha256 is not None


def test_every_datatype_gets_a_synthetic_sample(local: Hub) -> None:
    version = local.publish(all_types_model(), name="all")  # BOOL, BYTES, ints, floats
    assert version.metadata["sample"] == "synthetic"
    _, report = local.check("all")
    assert report.passed


def test_onnx_model_that_cannot_run_on_made_up_inputs(local: Hub) -> None:
    """An image model with dynamic sizes and an 8x8 kernel on 32x32... made-up inputs that do
    not fit: the version is published without a test data set, and says so."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "reshape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 5])],
        initializer=[onnx.numpy_helper.from_array(np.array([-1, 5], dtype=np.int64), "shape")],
    )
    version = local.publish(model_of(graph), name="odd")
    assert version.test_data_sha256 is None
    assert version.metadata["test_data"].startswith("none: on synthetic inputs, onnxruntime")
    with pytest.raises(InvalidInput, match="has no test data set"):
        local.check("odd")


def test_framework_models_still_need_a_sample(local: Hub, logreg) -> None:
    model, _ = logreg
    with pytest.raises(InvalidInput, match="a sample of held-out input rows is required"):
        local.publish(model, name="iris")


# -- item 6: a generation version can be served from seed and num_samples ------------------------


async def test_plain_generator_published_with_task_generation_is_servable(
    local: Hub, tmp_path: Path
) -> None:
    """The issue's example: one float input [-1, 8], --task generation, a latent sample."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    latent = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    version = local.publish(net, name="gen", sample=latent, task="generation")
    assert version.task == "generation" and version.metadata["latent_input"] == "input"
    runtime = InferenceRuntime(local, local.settings)
    await runtime.start()
    try:
        result = await runtime.infer("gen", None, {}, parameters={"seed": 7, "num_samples": 4})
        assert result.arrays[0].shape == (4, 3) and result.parameters["seed"] == 7
        again = await runtime.infer("gen", None, {}, parameters={"seed": 7, "num_samples": 4})
        np.testing.assert_array_equal(result.arrays[0], again.arrays[0])
    finally:
        await runtime.close()


@pytest.mark.parametrize(
    ("model", "sample", "why"),
    [
        (all_types_model(), None, "needs exactly one input"),
        (
            model_of(
                helper.make_graph(
                    [helper.make_node("Identity", ["ids"], ["y"])],
                    "ids",
                    [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, 4])],
                    [helper.make_tensor_value_info("y", TensorProto.INT64, [None, 4])],
                )
            ),
            None,
            "input 'ids' is INT64 [-1, 4]",
        ),
        (scale_model(2.0, width=-1), None, "input 'x' is FP32 [-1, -1]"),
    ],
)
def test_generation_that_cannot_be_served_is_refused(local: Hub, model, sample, why) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="task 'generation' needs") as caught:
        local.publish(model, name="notgen", sample=sample, task="generative")
    assert why in caught.value.message and "\n" not in caught.value.message
    assert local.list_models() == []


def test_onnx_generator_with_task_generation(local: Hub) -> None:
    model, _ = generator_model(latent_dim=4)
    version = local.publish(model, name="lin", task="generation")
    assert version.metadata["latent_input"] == "latent"


# -- item 10: front matter found as the Hub finds it, nothing dropped silently -------------------

CARD = "---\nlicense: mit\ntags: [tabular, demo]\n---\n\n# Iris\n\nA small classifier.\n"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("\ufeff" + CARD, "a UTF-8 byte-order mark"),
        (CARD.replace("\n", "\r\n"), "Windows line endings"),
        ("\n\n" + CARD, "blank lines before the front matter"),
        ("\ufeff" + CARD.replace("\n", "\r\n"), "both"),
    ],
)
def test_card_front_matter_is_found(text: str, why: str) -> None:
    card = parse_card(text)
    assert card.license == "mit", why
    assert card.tags == ["tabular", "demo"], why
    assert card.description == "A small classifier.", why


def test_card_file_with_bom_keeps_license_and_tags(local: Hub, tmp_path: Path, ridge) -> None:
    """The issue's example: the BOM made the YAML the description and dropped the rest."""
    path = tmp_path / "README.md"
    path.write_bytes(("\ufeff" + CARD).encode("utf-8"))
    model, X = ridge
    local.publish(model, name="linear", sample=X, card=path)
    info = local.get_model("linear")
    assert info.license == "mit" and {"tabular", "demo"} <= set(info.tags)
    assert info.description == "A small classifier."


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("---\nlicense: mit\n\n# never closed\n", "front matter starts with '---' but is never"),
        ("---\nlicense: [mit, apache]\n---\n", "field 'license' must be a non-empty string"),
        ("---\ntags: {a: 1}\n---\n", "field 'tags' must be a list of strings"),
        ("---\ntags: [has space]\n---\n", "invalid tag 'has space'"),
        ("---\n- a\n- b\n---\n", "front matter must be a YAML mapping"),
    ],
)
def test_bad_cards_are_refused(local: Hub, ridge, card: str, message: str) -> None:
    model, X = ridge
    with pytest.raises(InvalidInput, match=None) as caught:
        local.publish(model, name="linear", sample=X, card=card)
    assert message in caught.value.message
    assert local.list_models() == []


def test_card_not_utf8_is_refused(local: Hub, tmp_path: Path, ridge) -> None:
    path = tmp_path / "README.md"
    path.write_bytes(b"---\nlicense: \xff\n---\n")
    model, X = ridge
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        local.publish(model, name="linear", sample=X, card=path)


# -- item 11: the card's serving block validated at publish ---------------------------------------


@pytest.mark.parametrize(
    ("serving", "field"),
    [
        ("max_batch_size: lots", "max_batch_size"),  # the example
        ("max_batch_size: 0", "max_batch_size"),
        ("max_batch_size: true", "max_batch_size"),
        ("run_timeout: -1", "run_timeout"),
        ("max_batch: 8", "max_batch"),  # unknown field
    ],
)
def test_bad_serving_block_exits_2_naming_the_field(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, serving: str, field: str
) -> None:
    onnx.save(scale_model(2.0), str(tmp_path / "m.onnx"))
    (tmp_path / "card.md").write_text(f"---\nserving:\n  {serving}\n---\n", encoding="utf-8")
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    result = CliRunner().invoke(
        cli,
        ["publish", str(tmp_path / "m.onnx"), "--name", "m", "--card", str(tmp_path / "card.md")],
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: card front matter 'serving': ")
    assert field in result.output and result.output.count("\n") == 1
    with Hub(Settings.for_home(home)) as hub:
        assert hub.list_models() == []


def test_bad_model_options_variable_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"ONNXHUB_MODEL_OPTIONS\['iris'\]: max_batch_size"):
        Settings.from_env(
            {
                "ONNXHUB_HOME": str(tmp_path),
                "ONNXHUB_MODEL_OPTIONS": '{"iris": {"max_batch_size": "lots"}}',
            }
        )


# -- item 4: pickles are unpickled only where a pickle is expected --------------------------------


class _Opens:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.path), "w"))


def test_pickle_in_another_family_format_is_never_unpickled(local: Hub, tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "unpickled"
    for name in ("legacy.pt", "model.onnx", "weights.bin"):
        (tmp_path / name).write_bytes(pickle.dumps(_Opens(marker)))
        with pytest.raises(InvalidInput):
            local.publish(tmp_path / name, name="evil", sample=np.zeros((1, 3), np.float32))
        assert not marker.exists(), name
