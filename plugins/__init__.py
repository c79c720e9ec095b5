"""Built-in model families, registered through the ``onnxhub`` entry-point group."""
