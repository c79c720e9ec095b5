"""The built-in ``sklearn`` family: scikit-learn estimators and pipelines (skl2onnx)."""
