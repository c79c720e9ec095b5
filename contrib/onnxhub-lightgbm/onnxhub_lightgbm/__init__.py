"""LightGBM model family for onnxhub.

Installed, it registers the ``lightgbm`` family through the ``onnxhub`` entry-point group::

    [project.entry-points.onnxhub]
    lightgbm = "onnxhub_lightgbm:plugin"
"""

from onnxhub_lightgbm.family import LightGBMFamily

#: The plugin object the entry point names.
plugin = LightGBMFamily()

__all__ = ["LightGBMFamily", "plugin"]
__version__ = "0.1.0"
