"""The shared conformance suite every installed model family must pass."""
