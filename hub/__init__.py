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
    "get_model",
    "hookimpl",
    "list_models",
    "open",
    "publish",
]
__version__ = "0.1.0"


def _default_hub():  # type: ignore[no-untyped-def]
    from hub.api import Hub

    return Hub()


def publish(model_or_path, **kwargs):  # type: ignore[no-untyped-def]
    """Publish with the hub configured by ``ONNXHUB_*``; see :meth:`hub.api.Hub.publish`."""
    with _default_hub() as h:
        return h.publish(model_or_path, **kwargs)


def open(name, version_or_alias=None):  # type: ignore[no-untyped-def]  # noqa: A001
    """A ready predictor for ``name``; see :meth:`hub.api.Hub.open`."""
    with _default_hub() as h:
        return h.open(name, version_or_alias)


def list_models(search=None, task=None, tag=None):  # type: ignore[no-untyped-def]
    """Catalogued models; see :meth:`hub.api.Hub.list_models`."""
    with _default_hub() as h:
        return h.list_models(search=search, task=task, tag=tag)


def get_model(name):  # type: ignore[no-untyped-def]
    """One model's record; see :meth:`hub.api.Hub.get_model`."""
    with _default_hub() as h:
        return h.get_model(name)
