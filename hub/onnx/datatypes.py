"""The one mapping between Open Inference Protocol datatypes, numpy and ONNX element types."""

from __future__ import annotations

import numpy as np

from hub.errors import InvalidInput

#: V2 datatype -> numpy dtype (BYTES is carried as an object array of ``bytes``).
V2_TO_NUMPY: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}

#: onnxruntime's ``NodeArg.type`` strings -> V2 datatype.
ORT_TYPE_TO_V2: dict[str, str] = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}

#: ONNX ``TensorProto`` element type numbers -> V2 datatype.
ONNX_ELEM_TO_V2: dict[int, str] = {
    9: "BOOL",
    2: "UINT8",
    4: "UINT16",
    12: "UINT32",
    13: "UINT64",
    3: "INT8",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    10: "FP16",
    1: "FP32",
    11: "FP64",
    8: "BYTES",
}


def numpy_dtype(datatype: str) -> np.dtype:
    """The numpy dtype of a V2 datatype; InvalidInput for an unknown name."""
    try:
        return V2_TO_NUMPY[datatype]
    except KeyError:
        known = ", ".join(V2_TO_NUMPY)
        raise InvalidInput(f"unknown datatype {datatype!r} (expected one of {known})") from None
