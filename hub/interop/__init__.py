"""Interoperability with other serving systems (Triton Inference Server)."""
