"""``hub.open``: a catalogued version as a ready onnxruntime predictor."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from hub.catalog.records import VersionInfo
from hub.onnx.feeds import Arrays, run_session, to_feeds


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

    def predict(self, inputs: Arrays) -> dict[str, np.ndarray]:
        """Outputs by name for ``inputs``: one array (single-input models; a single row gets
        its batch dimension) or a mapping of input name to array, cast to the graph's
        datatypes (see :func:`hub.onnx.feeds.to_feeds`)."""
        label = self.version.ref
        feeds = to_feeds(self.version.inputs, inputs, label=label, add_batch=True)
        return run_session(self.session, feeds, label=label)

    __call__ = predict
