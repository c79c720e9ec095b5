"""The torch family: real modules trained here, exported, run by onnxruntime, compared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from hub.errors import ExportFailed, InvalidInput, InvalidModelFile
from hub.export.convert import convert_and_check
from hub.families.registry import FamilyRegistry
from hub.onnx.signature import TensorSpec
from hub_plugins.torch.family import plugin as torch_plugin


def _session(model_bytes: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])


def _toy_regression(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 3, generator=gen)
    y = (torch.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]).unsqueeze(1)
    return x, y


def _fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 80) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


@pytest.fixture(scope="module")
def trained_mlp() -> tuple[torch.nn.Module, np.ndarray]:
    """An MLP fitted on 80 rows (its loss must fall), and 16 held-out rows."""
    torch.manual_seed(0)
    x, y = _toy_regression()
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    with torch.no_grad():
        before = float(torch.nn.functional.mse_loss(model(x[:80]), y[:80]))
    after = _fit(model, x[:80], y[:80])
    assert after < before / 2
    return model, x[80:].numpy()


def test_module_export_matches_torch_on_held_out_rows_and_any_batch(
    registry: FamilyRegistry, trained_mlp: tuple[torch.nn.Module, np.ndarray]
) -> None:
    model, held_out = trained_mlp
    checked = convert_and_check(registry, model, held_out)

    assert checked.family == "torch" and checked.framework == "pytorch"
    assert checked.report.passed and checked.report.rows == 16
    assert checked.inputs == (TensorSpec("input", "FP32", (-1, 3)),)
    assert checked.outputs == (TensorSpec("output_0", "FP32", (-1, 1)),)
    assert checked.opset == 17
    assert checked.exported.task is None and checked.exported.latent_input is None

    rows = np.random.default_rng(5).standard_normal((37, 3)).astype(np.float32)
    (onnx_out,) = _session(checked.model_bytes).run(None, {"input": rows})
    with torch.no_grad():
        expected = model(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(onnx_out, expected, rtol=1e-4, atol=1e-5)


class TwoHeads(torch.nn.Module):
    """Two inputs, two outputs: a regression head and class probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(5, 8)
        self.reg = torch.nn.Linear(8, 1)
        self.cls = torch.nn.Linear(8, 3)

    def forward(
        self, numeric: torch.Tensor, extra: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.relu(self.body(torch.cat([numeric, extra], dim=1)))
        return self.reg(hidden), torch.softmax(self.cls(hidden), dim=1)


def test_multi_input_module_as_tuple_and_as_keywords(registry: FamilyRegistry) -> None:
    torch.manual_seed(1)
    model = TwoHeads()
    rng = np.random.default_rng(1)
    numeric, extra = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    positional = convert_and_check(registry, model, (numeric, extra))
    assert [s.name for s in positional.inputs] == ["input_0", "input_1"]
    assert [s.name for s in positional.outputs] == ["output_0", "output_1"]
    assert positional.report.passed

    keywords = convert_and_check(registry, model, {"numeric": numeric, "extra": extra})
    assert [s.name for s in keywords.inputs] == ["numeric", "extra"]
    probabilities = _session(keywords.model_bytes).run(
        ["output_1"], {"numeric": numeric.astype(np.float32), "extra": extra.astype(np.float32)}
    )[0]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    with torch.no_grad():
        want = model(torch.from_numpy(numeric).float(), torch.from_numpy(extra).float())[1]
    np.testing.assert_allclose(probabilities, want.numpy(), rtol=1e-4, atol=1e-6)


def test_training_mode_module_is_exported_for_inference_and_mode_restored(
    registry: FamilyRegistry,
) -> None:
    torch.manual_seed(2)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2)
    )
    model(torch.randn(32, 4))  # moves the batch-norm running statistics away from 0/1
    model.train()
    sample = np.random.default_rng(2).standard_normal((9, 4)).astype(np.float32)

    checked = convert_and_check(registry, model, sample)

    assert checked.report.passed
    assert model.training


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torchscript_file_is_claimed_loaded_and_exported(
    registry: FamilyRegistry, trained_mlp: tuple[torch.nn.Module, np.ndarray], tmp_path: Path
) -> None:
    model, held_out = trained_mlp
    path = tmp_path / "mlp.pt"
    torch.jit.save(torch.jit.script(model), str(path))

    assert registry.choose_family(path) == "torch"
    checked = convert_and_check(registry, path, held_out)

    assert checked.family == "torch" and checked.report.passed
    (onnx_out,) = _session(checked.model_bytes).run(None, {"input": held_out})
    with torch.no_grad():
        np.testing.assert_allclose(onnx_out, model(torch.from_numpy(held_out)).numpy(), atol=1e-5)


def test_torch_export_program_file_keeps_its_dynamic_batch(
    registry: FamilyRegistry, trained_mlp: tuple[torch.nn.Module, np.ndarray], tmp_path: Path
) -> None:
    model, held_out = trained_mlp
    program = torch.export.export(
        model, (torch.from_numpy(held_out),), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    path = tmp_path / "mlp.pt2"
    torch.export.save(program, str(path))

    checked = convert_and_check(registry, path, held_out)

    assert checked.report.passed
    assert checked.inputs[0].name == "input" and checked.inputs[0].shape[1] == 3
    rows = held_out[:5]
    (onnx_out,) = _session(checked.model_bytes).run(None, {"input": rows})
    with torch.no_grad():
        np.testing.assert_allclose(onnx_out, model(torch.from_numpy(rows)).numpy(), atol=1e-5)

    with pytest.raises(InvalidInput, match=r"expects shape \(batch, 3\), got \(16, 4\)"):
        convert_and_check(registry, path, np.zeros((16, 4), dtype=np.float32))


def test_wrong_sample_shape_names_what_the_module_expected(
    registry: FamilyRegistry, trained_mlp: tuple[torch.nn.Module, np.ndarray]
) -> None:
    model, _ = trained_mlp
    with pytest.raises(InvalidInput) as info:
        convert_and_check(registry, model, np.zeros((4, 5), dtype=np.float32))
    message = str(info.value)
    assert "(4, 5)" in message and "16" in message and "3" in message
    assert "\n" not in message


class BesselFeatures(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.special.i1(self.proj(x))


def test_unsupported_op_fails_naming_the_op_and_family(registry: FamilyRegistry) -> None:
    sample = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(ExportFailed) as info:
        convert_and_check(registry, BesselFeatures(), sample)
    message = str(info.value)
    assert "aten::special_i1" in message and "'torch'" in message
    assert "\n" not in message

    program = torch.export.export(BesselFeatures(), (torch.from_numpy(sample),))
    with pytest.raises(ExportFailed, match=r"cannot export op 'prims.bessel_i1'"):
        convert_and_check(registry, program, sample)


def test_bad_files_get_one_clear_line(registry: FamilyRegistry, tmp_path: Path) -> None:
    garbage = tmp_path / "random.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(InvalidModelFile, match="not a PyTorch archive"):
        convert_and_check(registry, garbage, np.zeros((2, 3), dtype=np.float32))

    pickled = tmp_path / "pickled.pt"
    torch.save(torch.nn.Linear(3, 1), str(pickled))
    with pytest.raises(InvalidModelFile, match="torch.save pickle"):
        convert_and_check(registry, pickled, np.zeros((2, 3), dtype=np.float32))

    onnx_like = tmp_path / "model.onnx"
    onnx_like.write_bytes(b"not used")
    with pytest.raises(InvalidModelFile, match="not a PyTorch model file"):
        registry.load_model("torch", onnx_like)


def test_object_of_another_framework_is_refused(registry: FamilyRegistry) -> None:
    with pytest.raises(InvalidInput, match="family 'torch' exports torch"):
        convert_and_check(registry, object(), np.zeros((2, 3)), family="torch")


def test_claims_and_card_defaults(registry: FamilyRegistry, tmp_path: Path) -> None:
    classifier = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=1))
    assert registry.choose_family(classifier) == "torch"
    assert torch_plugin.claim(tmp_path / "missing.pt") is None
    assert torch_plugin.claim(tmp_path / "weights.pth") is None
    rows = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert convert_and_check(registry, classifier, rows).exported.task == "tabular-classification"
    regressor_card = registry.card_defaults("torch", torch.nn.Linear(3, 1))
    assert regressor_card["library"] == "pytorch" and "task" not in regressor_card
    info = registry.family("torch").info
    assert info.framework == "pytorch" and info.install_hint == "pip install 'onnxhub[torch]'"


def test_conformance_cases_build_and_pass(registry: FamilyRegistry, tmp_path: Path) -> None:
    cases = torch_plugin.conformance_cases()
    assert {c.family for c in cases} == {"torch"}
    for case in cases:
        folder = tmp_path / case.name
        folder.mkdir()
        model, sample = case.build(folder)
        checked = convert_and_check(registry, model, sample)
        assert checked.family == "torch" and checked.report.passed, case.name


def test_importing_the_plugin_does_not_import_torch() -> None:
    code = "import sys, hub_plugins.torch.family; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class NamedOutputs(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        scores = self.proj(x)
        return {"scores": scores, "total": scores.sum(dim=1)}


def test_dict_outputs_keep_their_keys(registry: FamilyRegistry) -> None:
    sample = np.random.default_rng(4).standard_normal((5, 4)).astype(np.float32)
    checked = convert_and_check(registry, NamedOutputs(), sample)
    assert [s.name for s in checked.outputs] == ["scores", "total"]
    assert checked.outputs[1].shape == (-1,)
    assert checked.report.passed
