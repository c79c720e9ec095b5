"""The binary tensor extension: raw little-endian tensor bytes after the JSON header.

A request or response carrying binary tensors is ``JSON header + blob + blob ...``; the header's
length is in ``Inference-Header-Content-Length`` and each binary tensor names its byte count in
``parameters.binary_data_size``. BYTES elements are each a 4-byte little-endian length followed
by the bytes.
"""

from __future__ import annotations

import struct

import numpy as np

from hub.errors import InvalidInput

HEADER = "Inference-Header-Content-Length"

_LENGTH = struct.Struct("<I")
#: Elements decoded per numpy call (a few milliseconds of work).
_BLOCK = 32768


def split_body(
    body: bytes | bytearray, header_length: str | None
) -> tuple[bytes | bytearray, memoryview]:
    """(JSON part, binary part) of a request body."""
    if header_length is None:
        return body, memoryview(b"")
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInput(f"{HEADER} must be an integer, got {header_length!r}") from None
    if not 0 <= length <= len(body):
        raise InvalidInput(f"{HEADER} is {length} but the body has {len(body)} bytes")
    view = memoryview(body)
    return bytes(view[:length]), view[length:]


def decode_bytes_elements(chunk: memoryview, count: int, name: str) -> np.ndarray:
    """``count`` length-prefixed elements as an object array of ``str`` (onnx strings are UTF-8).

    The caller has checked that ``chunk`` holds at least ``count`` length prefixes. Elements
    of one common length (the usual case: fixed-width codes, tokens, ids) are split and decoded
    by numpy in one pass; mixed lengths walk the prefixes.
    """
    uniform = _decode_uniform(chunk, count, name)
    if uniform is not None:
        return uniform
    out = np.empty(count, dtype=object)
    offset, end = 0, len(chunk)
    for i in range(count):
        if offset + 4 > end:
            raise InvalidInput(
                f"input {name!r}: binary BYTES data ends after {i} of {count} elements"
            )
        (size,) = _LENGTH.unpack_from(chunk, offset)
        offset += 4
        if offset + size > end:
            raise InvalidInput(f"input {name!r}: binary BYTES element {i} runs past the data")
        try:
            out[i] = bytes(chunk[offset : offset + size]).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"input {name!r}: BYTES element {i} is not UTF-8 text") from None
        offset += size
    if offset != end:
        raise InvalidInput(
            f"input {name!r}: {end - offset} stray bytes after {count} BYTES elements"
        )
    return out


def _decode_uniform(chunk: memoryview, count: int, name: str) -> np.ndarray | None:
    """The elements when all have the first one's length (else None), without a Python loop."""
    if count == 0 or len(chunk) < 4:
        return None
    (width,) = _LENGTH.unpack_from(chunk, 0)
    if len(chunk) != count * (4 + width):
        return None
    records = np.frombuffer(chunk, dtype=np.dtype([("n", "<u4"), ("s", f"V{width}")]))
    if not (records["n"] == width).all():
        return None
    if width == 0:
        return np.full(count, "", dtype=object)
    text = np.frombuffer(chunk, dtype=np.uint8).reshape(count, 4 + width)[:, 4:]
    if not text[:, -1].all():  # numpy's fixed-width bytes drop trailing NULs: walk instead
        return None
    out = np.empty(count, dtype=object)
    # In blocks, so that other threads (the event loop) get the GIL between them.
    for start in range(0, count, _BLOCK):
        stop = min(count, start + _BLOCK)
        block = np.ascontiguousarray(text[start:stop]).view(f"S{width}").reshape(stop - start)
        try:
            out[start:stop] = np.char.decode(block, "utf-8").astype(object)
        except UnicodeDecodeError:
            raise InvalidInput(f"input {name!r}: a BYTES element is not UTF-8 text") from None
    return out


def encode_bytes_elements(array: np.ndarray) -> bytes:
    """Serialise a string/bytes array as length-prefixed elements (row-major)."""
    parts = []
    for item in array.ravel():
        raw = item if isinstance(item, bytes) else str(item).encode("utf-8")
        parts.append(_LENGTH.pack(len(raw)))
        parts.append(raw)
    return b"".join(parts)


def tensor_bytes(array: np.ndarray, datatype: str) -> bytes:
    """The binary form of an output tensor."""
    if datatype == "BYTES":
        return encode_bytes_elements(array)
    return np.ascontiguousarray(array).tobytes()
