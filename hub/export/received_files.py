"""Checking a received model that keeps its weights in external-data files (a pull).

The same checks as :func:`hub.export.received.check_received`, on a graph file and the data
files beside it in a folder the receiving process wrote (every file's sha256 already verified
against the sender's manifest): ONNX only (a pickle is refused unread), every data file inside
the folder and long enough for its tensors (read from their sizes, never loaded),
``onnx.checker`` on the path, onnxruntime loads it with the weights memory-mapped, and the test
data set is re-run here. Nothing is read whole into memory but the graph itself, which holds no
weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from hub.errors import InvalidModelFile
from hub.export.parity import Tolerance
from hub.export.received import ReceivedModel, refuse_pickle, rerun_test_data
from hub.onnx.checks import validate_model
from hub.onnx.external import ModelFiles, check_data_files, check_model_file, read_graph
from hub.onnx.sessions import make_session
from hub.onnx.signature import signature


def check_received_folder(
    graph_path: Path,
    test_data: bytes | None,
    *,
    tolerance: Tolerance,
    label_outputs: Sequence[str] = (),
    label: str = "the received model",
) -> tuple[ReceivedModel, ModelFiles]:
    """(the checked model, its files) for the graph at ``graph_path``; raises on the first
    failed check (InvalidModelFile naming the file, UnsupportedMediaType for a pickle)."""
    with open(graph_path, "rb") as handle:
        head = handle.read(6)
    refuse_pickle(head, graph_path.name, label)
    model = read_graph(graph_path)
    data = check_data_files(model, graph_path.parent, label)
    validate_model(model, label=label)
    check_model_file(graph_path, label)
    specs = signature(model)
    session = make_session(graph_path, label=label, map_weights=True)
    report = rerun_test_data(
        session,
        test_data,
        tolerance=tolerance,
        label_outputs=label_outputs,
        label=f"{label} with its test data",
    )
    del session  # its mapping of the data files is not needed past the checks
    graph_bytes = graph_path.read_bytes()
    if not graph_bytes:
        raise InvalidModelFile(f"{label} is empty")
    received = ReceivedModel.of(model, graph_bytes, specs, report, test_data)
    return received, ModelFiles(root=graph_path.parent, graph=graph_path.name, data=data)
