"""The built-in ``keras`` family: Keras 3 / TensorFlow models (tf2onnx)."""
