"""``hub.open``: a catalogued version as a ready onnxruntime predictor."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import onnxruntime as ort

from hub.catalog.records import VersionInfo
from hub.errors import InvalidInput, first_line
from hub.onnx.datatypes import numpy_dtype


class Predictor:
    """Runs one model version through onnxruntime.

    ``predict(X)`` takes one array (single-input models) or a mapping of input name to array,
    casts to the graph's datatypes and returns every output by name.
    """

    def __init__(self, version: VersionInfo, session: ort.InferenceSession) -> None:
        self.version = version
        self.session = session

    @property
    def providers(self) -> list[str]:
        """The execution providers the session really got."""
        return list(self.session.get_providers())

    def _feeds(self, inputs: Any) -> dict[str, np.ndarray]:
        specs = self.version.inputs
        if not isinstance(inputs, Mapping):
            if len(specs) != 1:
                names = ", ".join(s.name for s in specs)
                raise InvalidInput(f"{self.version.ref} has inputs {names}: pass a mapping")
            inputs = {specs[0].name: inputs}
        unknown = set(inputs) - {s.name for s in specs}
        if unknown:
            raise InvalidInput(
                f"unknown input(s) {', '.join(sorted(unknown))} for {self.version.ref}"
            )
        feeds = {}
        for spec in specs:
            if spec.name not in inputs:
                raise InvalidInput(f"missing input {spec.name!r} for {self.version.ref}")
            array = np.asarray(inputs[spec.name])
            if spec.datatype != "BYTES":
                array = array.astype(numpy_dtype(spec.datatype), copy=False)
            if len(spec.shape) == array.ndim + 1 and array.ndim >= 1 and spec.shape[0] == -1:
                array = array[np.newaxis, ...]
            feeds[spec.name] = array
        return feeds

    def predict(self, inputs: Any) -> dict[str, np.ndarray]:
        """Outputs by name for ``inputs``."""
        feeds = self._feeds(inputs)
        try:
            results = self.session.run(None, feeds)
        except Exception as exc:
            first = first_line(exc)
            raise InvalidInput(f"{self.version.ref} rejected the input: {first}") from None
        return {o.name: r for o, r in zip(self.session.get_outputs(), results)}

    __call__ = predict
