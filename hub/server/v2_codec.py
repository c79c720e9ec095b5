"""Open Inference Protocol v2 request decoding and response encoding (JSON + binary tensors).

The hot path: one typed JSON decode of the request (msgspec Structs, :mod:`hub.server.v2_schema`),
one typed decode per tensor's ``data`` (:mod:`hub.server.v2_tensors`), one ``np.array`` per input
and one JSON encode. Non-finite outputs are written as ``null``, which strict JSON parsers accept.

Limits: the tensor elements a request may declare (all inputs together), and the bytes a
response may take; output names may not repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from hub.errors import InvalidInput
from hub.onnx.datatypes import V2_TO_NUMPY
from hub.server.binary import HEADER, split_body, tensor_bytes
from hub.server.v2_schema import parse_request
from hub.server.v2_tensors import binary_tensor, check_count, json_tensor
from hub.serving.runtime import InferenceResult

_DTYPE_TO_V2: dict[np.dtype, str] = {v: k for k, v in V2_TO_NUMPY.items() if k != "BYTES"}
_JSON_ENCODER = msgspec.json.Encoder()
#: The headers of every all-JSON response (one shared dict: do not change it).
JSON_HEADERS = {"Content-Type": "application/json"}
#: Used when no limit is given (library callers, tests of the codec alone).
UNLIMITED = 2**62


@dataclass
class DecodedRequest:
    """A parsed inference request: numpy feeds plus what the response should look like."""

    id: Any
    feeds: dict[str, np.ndarray]
    outputs: list[str] | None
    binary_outputs: set[str]
    parameters: dict[str, Any]


def decode_request(
    body: bytes | bytearray, header_length: str | None = None, max_elements: int = UNLIMITED
) -> DecodedRequest:
    """Parse a V2 inference request body; every malformed part is an InvalidInput (400).

    ``max_elements`` bounds the tensor elements all inputs together may declare; it is checked
    for each input before anything is allocated for it.
    """
    json_part, binary = split_body(body, header_length)
    request = parse_request(json_part)
    feeds: dict[str, np.ndarray] = {}
    offset, budget = 0, max_elements
    for raw in request.inputs:
        name, datatype, shape = raw.name, raw.datatype, raw.shape
        if name in feeds:
            raise InvalidInput(f"input {name!r} appears twice")
        if datatype not in V2_TO_NUMPY:
            raise InvalidInput(
                f"input {name!r}: unknown datatype {datatype!r} "
                f"(expected one of {', '.join(V2_TO_NUMPY)})"
            )
        count = check_count(name, shape, budget)
        budget -= count
        size = raw.parameters.binary_data_size if raw.parameters is not None else None
        if size is not None:
            if offset + size > len(binary):
                raise InvalidInput(
                    f"input {name!r}: binary_data_size {size} runs past the end of the body"
                )
            chunk = binary[offset : offset + size]
            feeds[name] = binary_tensor(name, datatype, shape, count, chunk)
            offset += size
        elif raw.data is msgspec.UNSET:
            raise InvalidInput(f"input {name!r} has neither 'data' nor binary_data_size")
        else:
            feeds[name] = json_tensor(name, datatype, shape, count, raw.data)
    if offset != len(binary):
        raise InvalidInput(
            f"{len(binary) - offset} bytes of binary data are not claimed by any input"
        )

    parameters = dict(request.parameters or {})
    all_binary = parameters.get("binary_data_output") is True
    outputs: list[str] | None = None
    binary_outputs: set[str] = set()
    if request.outputs is not None:
        outputs = []
        for item in request.outputs:
            if item.name in outputs:
                raise InvalidInput(f"output {item.name!r} is requested more than once")
            outputs.append(item.name)
            wants = item.parameters.binary_data if item.parameters is not None else None
            if wants is True or (wants is None and all_binary):
                binary_outputs.add(item.name)
        outputs = outputs or None
    elif all_binary:
        binary_outputs = {"*"}
    return DecodedRequest(request.id, feeds, outputs, binary_outputs, parameters)


def _v2(array: np.ndarray) -> str:
    dtype = array.dtype
    found = _DTYPE_TO_V2.get(dtype)  # before .kind: a dtype lookup is the cheaper of the two
    if found is not None:
        return found
    if dtype.kind in ("O", "U", "S"):
        return "BYTES"
    raise KeyError(dtype)


def _json_data(array: np.ndarray, datatype: str) -> list:
    flat = array.reshape(-1)
    if datatype == "BYTES":
        return [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in flat]
    return flat.tolist()


#: The fewest JSON characters an element takes (a digit and a comma, ``""`` and a comma ...).
_MIN_JSON_CHARS = {"BOOL": 5, "BYTES": 3}


def response_size_floor(result: InferenceResult, request: DecodedRequest) -> int:
    """A lower bound of the response's bytes, known before anything is encoded."""
    every = "*" in request.binary_outputs
    total = 0
    for name, array in zip(result.names, result.arrays):
        if every or name in request.binary_outputs:
            total += array.nbytes if array.dtype != object else 4 * array.size
        else:
            total += array.size * _MIN_JSON_CHARS.get(_v2(array), 2)
    return total


def encode_response(
    result: InferenceResult, request: DecodedRequest, max_bytes: int = UNLIMITED
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the V2 response; binary outputs go after the JSON header.

    InvalidInput (400) when the response would exceed ``max_bytes``: checked against a lower
    bound before encoding, and against the real size after.
    """
    # The floor is at most nbytes + 5 chars per element: skip it where that fits anyway.
    if sum(a.nbytes + 5 * a.size for a in result.arrays) > max_bytes:
        floor = response_size_floor(result, request)
        if floor > max_bytes:
            raise InvalidInput(_too_large(result, floor, max_bytes, "at least "))
    outputs = []
    blobs: list[bytes] = []
    wanted = request.binary_outputs
    every = "*" in wanted
    for name, array in zip(result.names, result.arrays):
        datatype = _v2(array)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if every or name in wanted:
            blob = tensor_bytes(array, datatype)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = _json_data(array, datatype)
        outputs.append(entry)
    doc: dict[str, Any] = {
        "model_name": result.info.model,
        "model_version": str(result.info.version),
        "outputs": outputs,
    }
    if request.id is not None:
        doc["id"] = request.id
    if result.parameters:
        doc["parameters"] = result.parameters
    header = _JSON_ENCODER.encode(doc)
    size = len(header) + sum(len(b) for b in blobs)
    if size > max_bytes:
        raise InvalidInput(_too_large(result, size, max_bytes, ""))
    if not blobs:
        return header, JSON_HEADERS
    return header + b"".join(blobs), {
        "Content-Type": "application/octet-stream",
        HEADER: str(len(header)),
    }


def _too_large(result: InferenceResult, size: int, limit: int, qualifier: str) -> str:
    return (
        f"the response of {result.info.ref} would take {qualifier}{size} bytes, more than "
        f"the limit of {limit} (ONNXHUB_MAX_RESPONSE_BYTES); ask for fewer rows or outputs"
    )
