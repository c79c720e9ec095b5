"""The ``onnx`` family: publish a model that is already ONNX (a ``.onnx`` file or a ModelProto).

There is no framework to compare with, so :meth:`OnnxFamily.predict` returns nothing and the hub
keeps onnxruntime's own outputs on the sample as the version's test data. A framework's own
export (a ZipMap output, no ``ai.onnx`` opset import, IR version 3) is first brought to what the
hub serves by :func:`hub.families.normalize_onnx`, keeping its input and output names. The model
is validated here, before the hub would lower an export's IR version, so a file that declares an
IR version or opset the installed onnxruntime cannot run is refused with a clear message rather
than rewritten.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInput
from hub.families import ExportedModel, FamilyInfo, FamilyPlugin, SampleData

NAME = "onnx"
#: How messages name the model this family is checking.
LABEL = "the ONNX model"


def _is_model_proto(model: Any) -> bool:
    # A ModelProto can only exist once onnx is imported: no import just to answer a claim.
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(model, onnx.ModelProto)


class OnnxFamily(FamilyPlugin):
    """Models that are already ONNX: validated, fed the sample, stored as they are."""

    info = FamilyInfo(
        name=NAME,
        framework="onnx",
        summary="Models already in ONNX format (.onnx files or onnx.ModelProto objects)",
        file_suffixes=(".onnx",),
        needs_sample=False,
    )

    def claim(self, model: Any) -> int | None:
        """100 for a ``.onnx`` path or an ``onnx.ModelProto``."""
        if _is_model_proto(model):
            return 100
        return super().claim(model)

    def load(self, path: Path) -> Any:
        """Read ``path``; corrupt files and external data outside its folder are refused."""
        from hub.errors import InvalidModelFile
        from hub.families import load_onnx_file

        if path.is_dir():
            raise InvalidModelFile(f"{path.name} is a folder; give the .onnx file itself")
        return load_onnx_file(path)

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        """The model (a normalised copy: the caller's object is never changed) and its feeds:
        the sample's, or without one seeded synthetic inputs of every datatype
        (:func:`hub.families.synthetic_sample`, recorded as ``metadata["sample"]``).

        A ZipMap output becomes its probability tensor, a graph importing no ``ai.onnx`` opset
        gets one, an IR version older than the hub's default is raised
        (:func:`hub.families.normalize_onnx`); names are kept as the file has them.
        """
        import onnx

        from hub.families import (
            ai_onnx_opset,
            normalize_onnx,
            signature,
            synthetic_sample,
            to_feeds,
            validate_model,
        )

        if not _is_model_proto(model):
            raise InvalidInput(
                f"the onnx family takes an onnx.ModelProto, not {type(model).__name__}"
            )
        copy = normalize_onnx(model, family=NAME, opset=opset)
        if opset is not None:
            declared = ai_onnx_opset(copy)
            if declared != opset:
                raise InvalidInput(
                    f"the ONNX model imports opset {declared}; the onnx family does not convert "
                    f"between opsets (asked for {opset})"
                )
        validate_model(copy, label=LABEL)
        inputs, _ = signature(copy, label=LABEL)
        if not inputs:
            raise InvalidInput(f"{LABEL} declares no inputs")
        metadata = {
            key: value
            for key, value in (
                ("producer_name", copy.producer_name),
                ("producer_version", copy.producer_version),
            )
            if value
        }
        if sample is None:  # publishing an ONNX file never needs a sample
            sample = synthetic_sample(inputs)
            metadata["sample"] = "synthetic"
        return ExportedModel(
            model=copy,
            feeds=to_feeds(inputs, sample, label=LABEL),
            framework_version=onnx.__version__,
            metadata=metadata,
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        """Nothing: onnxruntime's outputs become the reference test data."""
        return {}

    def card_defaults(self, model: Any) -> dict[str, Any]:
        """``library: onnx``."""
        return {"library": "onnx"}


plugin = OnnxFamily()
