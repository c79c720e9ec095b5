"""The data plane: sessions, adaptive batching, residency and catalog events. No HTTP here.

:class:`hub.serving.runtime.InferenceRuntime` is the entry point the server calls.
"""
