"""From a trained model (or a file) to checked ONNX bytes and a parity report.

This is the part of publishing that needs no catalog: choose the family, export, validate the
ONNX, run it through onnxruntime on the user's held-out sample, compare with the framework.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hub.errors import InvalidInput, InvalidModelFile
from hub.export.batch_check import (
    compare_second_batch,
    merge_reports,
    observed_signature,
    run_second_batch,
    second_batch,
)
from hub.export.parity import ParityReport, Tolerance, compare_outputs, pack_test_data
from hub.families.registry import FamilyRegistry
from hub.families.saving import PICKLE_SUFFIXES, load_pickle
from hub.families.types import ExportedModel, SampleData
from hub.onnx.checks import ai_onnx_opset, validate_model
from hub.onnx.external import (
    ModelFiles,
    check_data_files,
    check_model_file,
    model_files,
    needs_external_data,
    save_with_external_data,
    uses_external_data,
)
from hub.onnx.feeds import check_feeds, run_session
from hub.onnx.sessions import make_session, runtime_limits
from hub.onnx.signature import TensorSpec, signature


@dataclass
class CheckedExport:
    """Everything publishing stores for one version, before it touches the catalog."""

    family: str
    framework: str
    exported: ExportedModel
    model_bytes: bytes
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int
    ir_version: int
    report: ParityReport
    #: The sample's inputs and expected outputs (``.npz``); None only when no sample was given
    #: and a synthetic one did not run (``exported.metadata["test_data"]`` says why).
    test_data: bytes | None
    card_defaults: dict[str, Any] = field(default_factory=dict)
    #: The model's files on disk when it has external data (``model_bytes`` is then the graph
    #: alone): a published ONNX folder, or an export too large for one protobuf.
    files: ModelFiles | None = None


def resolve_model(
    registry: FamilyRegistry, model_or_path: Any, family: str | None
) -> tuple[str, Any]:
    """(family, framework object): load a file with its family, then let the object re-claim.

    A pickle holds any framework's estimator, so after loading, the object is claimed again
    unless the caller named the family (a pipeline of XGBoost is the XGBoost family's).
    """
    if isinstance(model_or_path, str):
        model_or_path = Path(model_or_path)
    if isinstance(model_or_path, Path):
        path = model_or_path
        if not path.exists():
            raise InvalidInput(f"model file {str(path)!r} does not exist")
        if not path.is_file() and not path.is_dir():
            raise InvalidInput(f"{str(path)!r} is neither a file nor a folder")
        if family is None and path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES:
            # A pickle holds any framework's object: unpickle it once, then let it be claimed.
            # Only by its suffix: a file of another family's format is never unpickled here.
            model = load_pickle(path)
            try:
                return registry.choose_family(model), model
            except InvalidInput:  # no family exports it: the file's family says why
                pass
        loader = family or registry.choose_family(path)
        model = registry.load_model(loader, path)
        if family is not None:
            return family, model
        try:
            return registry.choose_family(model), model
        except InvalidInput:
            return loader, model
    chosen = family or registry.choose_family(model_or_path)
    registry.family(chosen)
    return chosen, model_or_path


def convert_and_check(
    registry: FamilyRegistry,
    model_or_path: Any,
    sample: SampleData,
    *,
    family: str | None = None,
    tolerance: Tolerance = Tolerance(),
    opset: int | None = None,
) -> CheckedExport:
    """Export ``model_or_path`` and check it; raises before anything is written anywhere.

    ``sample`` may be None only for a family that makes its own (``FamilyInfo.needs_sample``
    False: the onnx family draws synthetic inputs from the graph's signature).
    """
    source = Path(model_or_path) if isinstance(model_or_path, (str, Path)) else None
    family, model = resolve_model(registry, model_or_path, family)
    registered = registry.family(family)
    if sample is None and registered.info.needs_sample:
        raise InvalidInput(
            f"a sample of held-out input rows is required to check the {family} family's "
            "export (only a model that is already ONNX can do without)"
        )
    exported = registry.export(family, model, sample, opset)
    onnx_model = exported.model
    label = f"the {family} export"
    max_ir, _ = runtime_limits()
    if onnx_model.ir_version > max_ir:
        onnx_model.ir_version = max_ir
    validate_model(onnx_model, label=label)
    inputs, outputs = signature(onnx_model, label=label)
    files = _model_files(onnx_model, source, label)

    def checked(
        outputs: tuple[TensorSpec, ...], report: ParityReport, test_data: bytes | None
    ) -> CheckedExport:
        return CheckedExport(
            family=family,
            framework=registered.info.framework,
            exported=exported,
            model_bytes=model_bytes,
            inputs=inputs,
            outputs=outputs,
            opset=ai_onnx_opset(onnx_model),
            ir_version=int(onnx_model.ir_version),
            report=report,
            test_data=test_data,
            card_defaults=registry.card_defaults(family, model),
            files=files,
        )

    try:
        if files is None:
            model_bytes = onnx_model.SerializeToString()
            session = make_session(model_bytes, label=label)
        else:
            model_bytes = files.graph_bytes or files.graph_path.read_bytes()  # weights on disk
            session = make_session(
                model_bytes, label=label, map_weights=True, external_data_dir=files.root
            )
        check_feeds(inputs, exported.feeds, label=label)
        try:
            onnx_outputs = run_session(session, exported.feeds, label=label)
        except InvalidInput as exc:
            if exported.metadata.get("sample") != "synthetic":
                raise
            # No sample was given and made-up inputs do not run: published without test data.
            exported.metadata["test_data"] = f"none: on synthetic inputs, {exc.message}"
            return checked(outputs, ParityReport(rows=0, tolerance=tolerance), None)
        second = second_batch(inputs, exported, sample)  # the batch dimension, checked
        second_outputs = run_second_batch(
            functools.partial(run_session, session, label=label), second, onnx_outputs, label
        )
        del session  # unmaps the weights before the framework predicts
        framework_outputs = registry.framework_predict(family, model, sample, exported)
        report = compare_outputs(onnx_outputs, framework_outputs, exported.label_outputs, tolerance)
        report = merge_reports(
            report,
            compare_second_batch(
                lambda grown, again: registry.framework_predict(family, model, grown, again),
                exported,
                second,
                second_outputs,
                onnx_outputs,
                tolerance,
            ),
        )
        outputs = observed_signature(inputs, outputs, onnx_outputs, second_outputs)
        if not report.outputs and framework_outputs:
            raise InvalidModelFile(f"{label}: parity produced no comparable outputs")
        expected = framework_outputs or onnx_outputs
        return checked(outputs, report, pack_test_data(exported.feeds, expected))
    except BaseException:
        if files is not None:
            files.cleanup()  # a temporary export folder; a user's folder is never touched
        raise


def _model_files(onnx_model: Any, source: Path | None, label: str) -> ModelFiles | None:
    """Where the model's files are when it cannot be one in-memory protobuf, else None.

    A graph that names external data was read from ``source`` (a ``.onnx`` path) and publishes
    as its folder is; an in-memory export over the protobuf limit is written with external
    data to a temporary folder (the publisher cleans it up).
    """
    if uses_external_data(onnx_model):
        if source is None or source.is_dir():
            raise InvalidInput(
                f"{label} keeps its weights in external data files; publish it by the path of "
                "its .onnx file so that they are found beside it"
            )
        files = model_files(source)
        # The graph the family checked (maybe normalised) is the one stored, beside the same
        # data files; it is small (its weights stay in them).
        graph = onnx_model.SerializeToString()
        check_data_files(onnx_model, files.root, label)
        if graph != files.graph_path.read_bytes():
            files = replace(files, graph_bytes=graph)
        return files
    if needs_external_data(onnx_model):
        files = save_with_external_data(onnx_model)
        check_model_file(files.graph_path, label)
        return files
    return None
