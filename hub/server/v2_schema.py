"""The Open Inference Protocol v2 inference request, declared once as msgspec Structs.

One typed decode checks every field's JSON type; a wrong type anywhere is an
:class:`InvalidInput` (400) naming its path, e.g. ``$.outputs[0].parameters: expected
`object`, got `array```. A tensor's ``data`` stays raw JSON here: it is decoded later against
the tensor's declared datatype and shape (:mod:`hub.server.v2_tensors`), so no Python object is
made for it before the request is known to be sound.

Bodies with the non-standard ``NaN``/``Infinity`` literals (Python's ``json.dumps`` writes them)
are read with ``json.loads`` and then converted to the same Structs, so both paths give the
same errors.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Union

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from hub.errors import InvalidInput

#: A parameter value of the protocol: string, number or boolean (null tolerated).
ParameterValue = Union[str, int, float, bool, None]
Dim = Annotated[int, Meta(ge=0)]


class InputParameters(Struct, kw_only=True):
    """Per-input parameters the server reads; others are accepted and ignored."""

    binary_data_size: Annotated[int, Meta(ge=0)] | None = None


class OutputParameters(Struct, kw_only=True):
    """Per-output parameters the server reads; others are accepted and ignored."""

    binary_data: bool | None = None


class RequestInput(Struct, kw_only=True):
    """One input tensor: ``data`` (JSON, flat or nested row-major) or binary bytes."""

    name: str
    shape: list[Dim]
    datatype: str
    parameters: InputParameters | None = None
    # Raw JSON: decoded once, typed, by hub.server.v2_tensors (a union with Any here would
    # make msgspec build Python values for it first); plain values on the NaN path
    data: Raw | UnsetType = UNSET


class RequestOutput(Struct, kw_only=True):
    name: str
    parameters: OutputParameters | None = None


class InferenceRequest(Struct, kw_only=True):
    """``$`` of an inference request; ``inputs`` may be empty (generation models)."""

    id: str | None = None
    parameters: dict[str, ParameterValue] | None = None
    inputs: list[RequestInput] = []
    outputs: list[RequestOutput] | None = None


class _LooseInput(RequestInput, kw_only=True):
    data: Any | UnsetType = UNSET


class _LooseRequest(InferenceRequest, kw_only=True):
    inputs: list[_LooseInput] = []  # type: ignore[assignment]


_DECODER = msgspec.json.Decoder(InferenceRequest)
_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)


def located(exc: msgspec.MsgspecError, prefix: str = "") -> str:
    """msgspec's "Expected `int`, got `str` - at `$.inputs[0].shape[1]`" as
    "$.inputs[0].shape[1]: expected `int`, got `str`" (``prefix`` replaces the ``$``)."""
    match = _PATH.match(str(exc))
    assert match is not None
    message = match["message"]
    message = message[:1].lower() + message[1:]
    path = match["path"]
    if path is None:
        return message
    if prefix:
        path = prefix + path[1:]
    return f"{path}: {message}"


def parse_request(json_part: bytes | bytearray | memoryview) -> InferenceRequest:
    """The request header as Structs; InvalidInput (400) for malformed JSON or a wrong type."""
    try:
        return _DECODER.decode(json_part)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None
    except msgspec.DecodeError:
        pass  # NaN / Infinity literals, or malformed JSON: let json.loads say which
    try:
        doc = json.loads(bytes(json_part))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        return msgspec.convert(doc, _LooseRequest)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: msgspec.ValidationError) -> InvalidInput:
    where = located(exc)
    if where.startswith("expected `object`"):  # no path: the document itself
        return InvalidInput(f"the request body must be a JSON object ({where})")
    return InvalidInput(where)
