"""Catalog schema revisions, oldest first: ``0001_baseline`` is the schema of onnxhub 0.1.0."""
