"""The HTTP side of serving: Open Inference Protocol v2 REST over aiohttp.

``create_app(hub)`` (in :mod:`hub.server.app`) builds the application; handlers parse, call the
data plane in :mod:`hub.serving`, and render.
"""
