"""One request tensor to a numpy array: checked against its datatype, shape and the limits.

Nothing is allocated from a declared shape or size until the bytes that back it are known to be
in the body: a binary tensor's byte count must match its shape (BYTES: at least the 4-byte
length prefix per element) and a JSON tensor's text must be long enough to hold its elements,
before anything is decoded. JSON values are decoded straight into typed lists by msgspec (one
C pass, no per-element Python loop) and must fit the datatype: integers for INT/UINT (range
checked), numbers for FP, booleans for BOOL, strings for BYTES. The first bad value is named.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import Meta, Raw

from hub.errors import InvalidInput
from hub.onnx.datatypes import V2_TO_NUMPY
from hub.server.binary import decode_bytes_elements

#: The deepest nesting accepted for JSON ``data`` (ONNX tensors rarely pass 6 dims).
MAX_DEPTH = 32

_INT_RANGES = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
    "UINT8": (0, 2**8 - 1),
    "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1),
    "UINT64": (0, None),  # msgspec bounds stop at int64; numpy refuses 2**64 and above
}
_EXPECTED = {"BOOL": "booleans", "BYTES": "strings"}
_PATH = re.compile(r"- at `\$((?:\[\d+\])*)`")
_INDEX = re.compile(r"\[(\d+)\]")


def _element_type(datatype: str) -> Any:
    if datatype == "BOOL":
        return bool
    if datatype == "BYTES":
        return str
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        return (
            Annotated[int, Meta(ge=low)] if high is None else Annotated[int, Meta(ge=low, le=high)]
        )
    return float  # FP16 / FP32 / FP64: JSON integers are numbers too


@functools.lru_cache(maxsize=len(V2_TO_NUMPY) * (MAX_DEPTH + 1))
def _typed(datatype: str, depth: int) -> tuple[Any, msgspec.json.Decoder]:
    kind = _element_type(datatype)
    for _ in range(depth):
        kind = list[kind]  # type: ignore[valid-type]
    return kind, msgspec.json.Decoder(kind)


def _depth(raw: bytes | memoryview) -> int:
    depth = 0
    for byte in bytes(raw[: MAX_DEPTH + 64]):
        if byte == 0x5B:  # [
            depth += 1
        elif byte not in b" \t\r\n":
            break
    return depth


def _describe(datatype: str) -> str:
    if datatype in _EXPECTED:
        return _EXPECTED[datatype]
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        return f"integers in [{low}, {high if high is not None else 2**64 - 1}]"
    return "numbers"


def _bad_value(exc: msgspec.ValidationError, data: Any) -> tuple[str, Any]:
    """(``data[i][j]``, the value there) for the first element msgspec refused."""
    match = _PATH.search(str(exc))
    where = match.group(1) if match else ""
    value = data
    try:
        for index in _INDEX.findall(where):
            value = value[int(index)]
    except (IndexError, KeyError, TypeError):
        value = None
    return f"data{where}", value


def _refuse(name: str, datatype: str, exc: msgspec.ValidationError, data: Any) -> InvalidInput:
    where, value = _bad_value(exc, data)
    try:
        shown = json.dumps(value)  # as the client wrote it: null, true, "1"
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(
        f"input {name!r}: data does not fit {datatype} ({_describe(datatype)}): {where} is {shown}"
    )


def check_count(name: str, shape: list[int], budget: int) -> int:
    """The element count of ``shape``; InvalidInput when it exceeds ``budget``."""
    count = math.prod(shape)
    if count > budget:
        raise InvalidInput(
            f"input {name!r}: shape {shape} declares {count} elements, more than the "
            f"{budget} this request may still declare (ONNXHUB_MAX_REQUEST_ELEMENTS)"
        )
    return count


def json_tensor(name: str, datatype: str, shape: list[int], count: int, data: Any) -> np.ndarray:
    """``data`` (raw JSON, or plain values on the NaN path) as an array of ``shape``."""
    dtype = V2_TO_NUMPY[datatype]
    if isinstance(data, Raw):
        raw = memoryview(data)
        # Each element takes at least one character plus a separator: a declared shape the
        # text cannot hold is refused before anything is decoded.
        if count > len(raw):
            raise InvalidInput(
                f"input {name!r}: shape {shape} needs {count} values, "
                f"more than its data can hold ({len(raw)} characters of JSON)"
            )
        depth = _depth(raw)
    else:
        depth, probe = 0, data
        while isinstance(probe, list) and depth <= MAX_DEPTH:
            depth += 1
            probe = probe[0] if probe else None
    allowed = {1, len(shape)} if shape else {0, 1}
    if depth not in allowed:
        raise InvalidInput(
            f"input {name!r}: data nested {depth} deep does not fit shape {shape} "
            f"(give it flat, or nested {len(shape)} deep)"
        )
    kind, decoder = _typed(datatype, depth)
    try:
        if isinstance(data, Raw):
            values = decoder.decode(data)
        else:
            values = msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        plain = json.loads(bytes(data)) if isinstance(data, Raw) else data
        raise _refuse(name, datatype, exc, plain) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"input {name!r}: malformed data: {exc}") from None
    try:
        array = np.array(values, dtype=dtype)
    except (ValueError, OverflowError) as exc:  # ragged nesting, UINT64 above 2**64 - 1
        raise InvalidInput(f"input {name!r}: data does not fit {datatype} {shape}: {exc}") from None
    if datatype == "BYTES" and array.ndim != depth:  # ragged strings make an array of lists
        raise InvalidInput(f"input {name!r}: nested data is ragged; it does not fit {shape}")
    if array.size != count:
        raise InvalidInput(f"input {name!r}: shape {shape} needs {count} values, got {array.size}")
    return array.reshape(shape)


def binary_tensor(
    name: str, datatype: str, shape: list[int], count: int, chunk: memoryview
) -> np.ndarray:
    """``chunk`` (this tensor's binary bytes) as an array of ``shape``; no copy for numbers."""
    if datatype == "BYTES":
        if count * 4 > len(chunk):
            raise InvalidInput(
                f"input {name!r}: shape {shape} of BYTES needs at least {count * 4} bytes "
                f"(a 4-byte length per element), got {len(chunk)}"
            )
        return decode_bytes_elements(chunk, count, name).reshape(shape)
    dtype = V2_TO_NUMPY[datatype]
    if len(chunk) != count * dtype.itemsize:
        raise InvalidInput(
            f"input {name!r}: {len(chunk)} bytes of binary data, but shape {shape} of "
            f"{datatype} needs {count * dtype.itemsize}"
        )
    return np.frombuffer(chunk, dtype=dtype).reshape(shape)
