"""onnxhub: a self-hosted ONNX model hub.

An application imports from here; a model family imports from :mod:`hub.families` (the plugin
API) and :mod:`hub.errors` only::

    import hub
    info = hub.publish(model, name="iris", sample=X_test)
    predictor = hub.open("iris")
"""

from hub.errors import HubError

__all__ = [
    "Client",
    "Hub",
    "HubError",
    "ParityReport",
    "Settings",
    "Tolerance",
    "convert_and_check",
    "get_model",
    "get_plugin_manager",
    "list_models",
    "open",
    "pipeline",
    "publish",
    "spark_udf",
]
__version__ = "0.1.0"

#: Public names resolved on first use, so ``import hub`` (done by every plugin at discovery)
#: does not load onnxruntime or SQLAlchemy.
_LAZY = {
    "Tolerance": ("hub.export.parity", "Tolerance"),
    "ParityReport": ("hub.export.parity", "ParityReport"),
    "convert_and_check": ("hub.export.convert", "convert_and_check"),
    "get_plugin_manager": ("hub.families.registry", "get_plugin_manager"),
    "Hub": ("hub.api", "Hub"),
    "Settings": ("hub.settings", "Settings"),
    "Client": ("hub.client", "Client"),
    "spark_udf": ("hub.batch.spark", "spark_udf"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


def _default_hub():
    from hub.api import Hub

    return Hub()


def publish(model_or_path, **kwargs):
    """Publish with the hub configured by ``ONNXHUB_*``; see :meth:`hub.api.Hub.publish`."""
    with _default_hub() as h:
        return h.publish(model_or_path, **kwargs)


def open(name, version_or_alias=None):  # noqa: A001
    """A ready predictor for ``name``; see :meth:`hub.api.Hub.open`."""
    with _default_hub() as h:
        return h.open(name, version_or_alias)


def list_models(search=None, task=None, tag=None):
    """Catalogued models; see :meth:`hub.api.Hub.list_models`."""
    with _default_hub() as h:
        return h.list_models(search=search, task=task, tag=tag)


def get_model(name):
    """One model's record; see :meth:`hub.api.Hub.get_model`."""
    with _default_hub() as h:
        return h.get_model(name)


def pipeline(task, model):
    """A callable for ``task`` over the local catalog's ``model``; see :mod:`hub.pipelines`."""
    from hub.pipelines import local_pipeline

    return local_pipeline(task, model)
