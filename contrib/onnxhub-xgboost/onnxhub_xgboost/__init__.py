"""XGBoost model family for onnxhub.

Installed, it registers the ``xgboost`` family through the ``onnxhub`` entry-point group::

    [project.entry-points.onnxhub]
    xgboost = "onnxhub_xgboost:plugin"
"""

from onnxhub_xgboost.family import XGBoostFamily

#: The plugin object the entry point names.
plugin = XGBoostFamily()

__all__ = ["XGBoostFamily", "plugin"]
__version__ = "0.1.0"
