"""Checking a model that arrives as bytes (an HTTP upload, a pull from another hub).

Nothing received is trusted: it must be ONNX (pickle and joblib are refused before anything
reads them, and nothing received is ever unpickled), self-contained (no external data), pass
``onnx.checker``, load in onnxruntime, and, when it comes with a test data set, reproduce the
expected outputs here: the parity report kept is this machine's re-run, not the sender's claim.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import onnx
from onnx import ModelProto

from hub.errors import InvalidInput, InvalidModelFile, UnsupportedMediaType, first_line
from hub.export.parity import ParityReport, Tolerance, compare_outputs, unpack_test_data
from hub.onnx.checks import ai_onnx_opset, parse_onnx_bytes, validate_model
from hub.onnx.feeds import run_session
from hub.onnx.sessions import make_session
from hub.onnx.signature import TensorSpec, signature

#: File name endings of serialised Python objects, refused without being read.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav", ".dill")
PICKLE_MEDIA_TYPES = ("application/python-pickle", "application/x-python-pickle")


@dataclass(frozen=True)
class ReceivedModel:
    """A received ONNX model that passed every check, with this machine's parity figures."""

    model_bytes: bytes
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int
    ir_version: int
    report: ParityReport | None
    test_data: bytes | None

    @classmethod
    def of(
        cls,
        model: ModelProto,
        model_bytes: bytes,
        specs: tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]],
        report: ParityReport | None,
        test_data: bytes | None,
    ) -> ReceivedModel:
        """The record of a checked ``model`` (its graph serialised as ``model_bytes``), with
        its ``(inputs, outputs)`` signature and the parity ``report`` on ``test_data``."""
        inputs, outputs = specs
        return cls(
            model_bytes=model_bytes,
            inputs=inputs,
            outputs=outputs,
            opset=ai_onnx_opset(model),
            ir_version=int(model.ir_version),
            report=report,
            test_data=test_data,
        )


def looks_like_pickle(data: bytes, filename: str | None, media_type: str | None) -> bool:
    """Whether an upload is a pickle or joblib dump, judged without unpickling anything:
    its name, its declared media type, or its first bytes (pickle protocol 2+ opcode, or the
    zlib/gzip/bz2/xz/lz4 headers joblib writes around a pickle)."""
    if filename and filename.lower().endswith(PICKLE_SUFFIXES):
        return True
    if media_type and media_type.lower() in PICKLE_MEDIA_TYPES:
        return True
    head = data[:6]
    return (
        (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)
        or head[:2] in (b"x\x9c", b"x\x01", b"x\xda", b"\x1f\x8b")
        or head[:3] == b"BZh"
        or head[:6] == b"\xfd7zXZ\x00"
        or head[:4] == b"\x04\x22\x4d\x18"
    )


def refuse_external_data(model: ModelProto, label: str) -> None:
    """A received model must carry its weights inside itself: any external-data reference is
    refused, and one that points outside (``../``, an absolute path) says so."""
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        path = Path(location)
        if path.is_absolute() or ".." in path.parts or location.startswith(("/", "\\")):
            raise InvalidModelFile(
                f"{label}: tensor {tensor.name!r} points its external data outside the model "
                f"({location!r}); refused"
            )
        raise InvalidModelFile(
            f"{label}: tensor {tensor.name!r} keeps its data in an external file "
            f"({location!r}); upload a self-contained model"
        )


def read_test_data(data: bytes, label: str = "test_data") -> tuple[dict, dict]:
    """(feeds, expected) from a test data ``.npz``; InvalidInput naming ``label`` otherwise.
    Arrays are loaded with ``allow_pickle=False``: an object array is refused, not unpickled."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput(f"part {label!r} is not an .npz archive")
    try:
        feeds, expected = unpack_test_data(data)
    except Exception as exc:
        raise InvalidInput(
            f"part {label!r} is not a readable test data set: {first_line(exc)}"
        ) from None
    if not feeds or not expected:
        raise InvalidInput(
            f"part {label!r} needs 'input:<name>' and 'output:<name>' arrays (as onnxhub writes)"
        )
    return feeds, expected


def refuse_pickle(head: bytes, filename: str | None, label: str) -> None:
    """UnsupportedMediaType when ``head`` (a file's first bytes at least) or ``filename`` shows
    a pickle/joblib file, which is never loaded."""
    if looks_like_pickle(head, filename, None):
        raise UnsupportedMediaType(
            f"{label} is a pickle/joblib file: only ONNX is accepted, and it was not loaded"
        )


def rerun_test_data(
    session: Any,
    test_data: bytes | None,
    *,
    tolerance: Tolerance,
    label_outputs: Sequence[str],
    label: str,
) -> ParityReport | None:
    """The parity of ``session`` (an onnxruntime session) on a received test data set (an
    ``.npz`` as onnxhub writes it); None when there is none. ``label`` names the run in errors."""
    if test_data is None:
        return None
    feeds, expected = read_test_data(test_data)
    got = run_session(session, feeds, label=label)
    return compare_outputs(got, expected, tuple(label_outputs), tolerance)


def check_received(
    model_bytes: bytes,
    test_data: bytes | None,
    *,
    tolerance: Tolerance,
    label_outputs: Sequence[str] = (),
    label: str = "the uploaded model",
) -> ReceivedModel:
    """Run every check on received bytes; raises (nothing written) on the first failure."""
    refuse_pickle(model_bytes, None, label)
    model = parse_onnx_bytes(model_bytes, label)
    refuse_external_data(model, label)
    validate_model(model, label=label)
    specs = signature(model)
    session = make_session(model_bytes, label=label)
    report = rerun_test_data(
        session,
        test_data,
        tolerance=tolerance,
        label_outputs=label_outputs,
        label=f"{label} with part 'test_data'",
    )
    return ReceivedModel.of(model, model_bytes, specs, report, test_data)
