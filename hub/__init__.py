"""onnxhub: a self-hosted ONNX model hub.

The public API a family plugin or an application imports from::

    from hub import hookimpl, FamilyPlugin, FamilyInfo, ExportedModel
    import hub
    info = hub.publish(model, name="iris", sample=X_test)
    predictor = hub.open("iris")
"""

from hub.errors import HubError
from hub.families import Claim, ConformanceCase, ExportedModel, FamilyInfo
from hub.family_plugin import FamilyPlugin
from hub.hookspecs import hookimpl

__all__ = [
    "Claim",
    "ConformanceCase",
    "ExportedModel",
    "FamilyInfo",
    "FamilyPlugin",
    "HubError",
    "hookimpl",
]
__version__ = "0.1.0"
