"""The catalog JSON API under ``/api`` (OpenAPI 3.1 document at ``GET /api/openapi.json``).

Routes: ``GET /api/whoami``; ``GET /api/models``; ``GET|PATCH /api/models/{name}``;
``POST /api/models/{name}/versions``; ``GET|DELETE /api/models/{name}/versions/{ref}``;
``GET /api/models/{name}/versions/{ref}/model.onnx`` and ``.../test_data.npz``;
``GET /api/models/{name}/versions/{ref}/files/{path}`` (each file of the version's manifest);
``PUT|DELETE /api/models/{name}/aliases/{alias}``. Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

import re

from aiohttp import web

from hub.server.api import community_routes, models, openapi, versions

ROUTES: tuple[tuple[str, str, object], ...] = (
    ("GET", "/api/openapi.json", openapi.document),
    ("GET", "/api/whoami", models.whoami),
    ("GET", "/api/models", models.list_models),
    ("GET", "/api/models/{name}", models.get_model),
    ("PATCH", "/api/models/{name}", models.patch_model),
    ("POST", "/api/models/{name}/versions", versions.publish_version),
    ("GET", "/api/models/{name}/versions/{ref}", versions.get_version),
    ("DELETE", "/api/models/{name}/versions/{ref}", versions.delete_version),
    (
        "GET",
        "/api/models/{name}/versions/{ref}/{file:model\\.onnx|test_data\\.npz}",
        versions.download,
    ),
    ("GET", "/api/models/{name}/versions/{ref}/files/{path:.+}", versions.download_file),
    ("PUT", "/api/models/{name}/aliases/{alias}", versions.put_alias),
    ("DELETE", "/api/models/{name}/aliases/{alias}", versions.delete_alias),
) + community_routes.ROUTES


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        (p[1:-1].split(":", 1)[1] if ":" in p else "[^/]+") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{regex}$")


_SHAPES = [(method, _pattern(path)) for method, path, _ in ROUTES]


async def bad_model_path(request: web.Request) -> web.Response:
    """A path under ``/api/models/`` no route takes: 405 when it fits a route of another
    method, else 400 (a model name with ``/`` or ``..`` in it, or no such route)."""
    allowed = sorted({m for m, regex in _SHAPES if regex.match(request.path)})
    if allowed:
        return web.json_response(
            {
                "error": f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})"
            },
            status=405,
            headers={"Allow": ", ".join(allowed)},
        )
    return web.json_response(
        {
            "error": f"invalid model path {request.match_info['rest']!r}: a model name cannot "
            "contain '/', and no such route exists"
        },
        status=400,
    )


def add_routes(app: web.Application) -> None:
    community_routes.install(app)
    for method, path, handler in ROUTES:
        if method == "GET":
            app.router.add_get(path, handler)  # type: ignore[arg-type]  # and HEAD
        else:
            app.router.add_route(method, path, handler)  # type: ignore[arg-type]
    app.router.add_route("*", "/api/models/{rest:.+}", bad_model_path)
