"""Batch scoring of catalogued models outside the server (Spark)."""
