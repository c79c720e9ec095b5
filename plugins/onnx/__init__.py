"""The built-in ``onnx`` family: plain ONNX files and ``onnx.ModelProto`` objects."""
