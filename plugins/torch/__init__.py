"""The built-in ``torch`` family: PyTorch modules (torch.onnx)."""
