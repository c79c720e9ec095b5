"""The ONNX versions exports are written with (a module without imports: cheap for plugins)."""

#: ai.onnx opset families export with unless told otherwise; every supported onnxruntime runs it.
DEFAULT_OPSET = 17
#: IR version exports are stamped with (onnx stamps its newest, which onnxruntime may reject).
DEFAULT_IR_VERSION = 10
