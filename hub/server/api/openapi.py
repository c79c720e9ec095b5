"""The OpenAPI 3.1 document of ``/api`` (served at ``GET /api/openapi.json``).

A test checks that its paths and methods are exactly the routes registered, and a
schemathesis run checks the server's answers against it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import hub

NAME = {"type": "string", "minLength": 1, "maxLength": 200}
NULLABLE_STR = {"type": ["string", "null"]}
ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed request (the message names the part or field)",
        401: "Token missing, malformed, unknown, revoked or expired",
        403: "The token lacks the scope, or the caller the role",
        404: "Unknown (or private and not yours)",
        405: "Method not allowed",
        409: "Conflicts with the catalog's state",
        413: "Upload over the limit",
        415: "Unsupported media type (e.g. pickle)",
        416: "Range not satisfiable",
        422: "The server's parity re-run failed",
    }
    return {str(c): _json(ERROR, text[c]) for c in codes}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


NAME_PARAM = _path_param("name", "Model name")
REF_PARAM = _path_param("ref", "Version number or alias")
ALIAS_PARAM = _path_param("alias", "Alias name")
AUTH_ERRORS = (400, 401, 403, 404)

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "Whoami": {
        "type": "object",
        "required": ["user", "scopes"],
        "properties": {
            "user": NULLABLE_STR,
            "scopes": {"type": "array", "items": {"enum": ["read", "write", "admin"]}},
        },
    },
    "ModelSummary": {
        "type": "object",
        "required": [
            "name",
            "owner",
            "task",
            "library",
            "tags",
            "license",
            "private",
            "likes",
            "downloads",
            "latest_version",
            "aliases",
            "updated_at",
        ],
        "properties": {
            "name": {"type": "string"},
            "owner": {"type": "string"},
            "task": NULLABLE_STR,
            "library": NULLABLE_STR,
            "tags": {"type": "array", "items": {"type": "string"}},
            "license": NULLABLE_STR,
            "private": {"type": "boolean"},
            "likes": {"type": "integer", "minimum": 0},
            "downloads": {"type": "integer", "minimum": 0},
            "latest_version": {"type": ["integer", "null"]},
            "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
            "updated_at": {"type": "string"},
        },
    },
    "ModelPage": {
        "type": "object",
        "required": ["models", "next_cursor"],
        "properties": {
            "models": {"type": "array", "items": {"$ref": "#/components/schemas/ModelSummary"}},
            "next_cursor": NULLABLE_STR,
        },
    },
    "VersionEntry": {
        "type": "object",
        "required": [
            "number",
            "created_at",
            "sha256",
            "size",
            "family",
            "framework",
            "opset",
            "parity_passed",
            "deleted",
        ],
        "properties": {
            "number": {"type": "integer"},
            "created_at": {"type": "string"},
            "sha256": {"type": "string"},
            "size": {"type": "integer"},
            "family": {"type": "string"},
            "framework": {"type": "string"},
            "opset": {"type": "integer"},
            "parity_passed": {"type": ["boolean", "null"]},
            "deleted": {"type": "boolean"},
        },
    },
    "Model": {
        "allOf": [
            {"$ref": "#/components/schemas/ModelSummary"},
            {
                "type": "object",
                "required": ["description", "card", "card_data", "versions"],
                "properties": {
                    "description": NULLABLE_STR,
                    "card": NULLABLE_STR,
                    "card_data": {"type": "object"},
                    "versions": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/VersionEntry"},
                    },
                },
            },
        ]
    },
    "ModelPatch": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": NULLABLE_STR,
            "card": NULLABLE_STR,
            "tags": {"type": ["array", "null"], "items": {"type": "string"}},
            "task": NULLABLE_STR,
            "license": NULLABLE_STR,
            "private": {"type": "boolean"},
        },
    },
    "Tensor": {
        "type": "object",
        "required": ["name", "datatype", "shape"],
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Version": {
        "type": "object",
        "required": [
            "model",
            "version",
            "family",
            "framework",
            "framework_version",
            "opset",
            "ir_version",
            "task",
            "inputs",
            "outputs",
            "sha256",
            "size",
            "test_data_sha256",
            "parity",
            "aliases",
            "provenance",
            "created_at",
        ],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "family": {"type": "string"},
            "framework": {"type": "string"},
            "framework_version": {"type": "string"},
            "opset": {"type": "integer"},
            "ir_version": {"type": "integer"},
            "task": NULLABLE_STR,
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "size": {"type": "integer"},
            "test_data_sha256": NULLABLE_STR,
            "parity": {"type": ["object", "null"]},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "downloads": {"type": "integer"},
            "provenance": {"type": ["object", "null"]},
            "card": NULLABLE_STR,
            "metadata": {"type": "object"},
            "created_at": {"type": "string"},
            "files": {
                "$ref": "#/components/schemas/Manifest",
                "description": "GET of one version only: every file to fetch from files/{path}",
            },
        },
    },
    "Manifest": {
        "type": "object",
        "required": ["files", "total_size"],
        "properties": {
            "files": {
                "type": "array",
                "description": "The graph first, then its external-data files",
                "items": {
                    "type": "object",
                    "required": ["path", "size", "sha256", "role"],
                    "properties": {
                        "path": {"type": "string"},
                        "size": {"type": "integer"},
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "role": {"enum": ["graph", "data"]},
                    },
                },
            },
            "total_size": {"type": "integer"},
        },
    },
    "Upload": {
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"type": "string", "contentMediaType": "application/octet-stream"},
            "test_data": {"type": "string", "contentMediaType": "application/octet-stream"},
            "data": {
                "type": "array",
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "description": "One part per external-data file of the graph, its filename "
                "the path the graph gives it (e.g. weights/w0.bin)",
            },
            "card": {"type": "string"},
            "metadata": {
                "type": "string",
                "description": "JSON object: tags, task, license, description, alias, family, "
                "framework, framework_version, library, label_outputs, parity, provenance, "
                "private (a new model only), latent_input (a generator's noise input)",
            },
        },
    },
    "AliasTarget": {
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {"version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
    },
    "Alias": {
        "type": "object",
        "required": ["model", "alias", "version"],
        "properties": {
            "model": {"type": "string"},
            "alias": {"type": "string"},
            "version": {"type": "integer"},
        },
    },
    "Deleted": {
        "type": "object",
        "required": ["model", "version", "deleted"],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "deleted": {"const": True},
        },
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _binary(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document as a dict."""
    list_params = [
        _query(
            "search",
            {"type": "string"},
            "Terms, all must match: in full text (stemmed) or as a literal substring",
        ),
        _query("task", {"type": "string"}, "Task, e.g. tabular-classification"),
        _query("tag", {"type": "string"}, "Tag"),
        _query("library", {"type": "string"}, "Library (sklearn, keras, torch...)"),
        _query("owner", {"type": "string"}, "Owner's user name"),
        _query(
            "sort",
            {"enum": ["updated", "created", "likes", "downloads", "name", "relevance"]},
            "Sort key (default: relevance with a search, else updated)",
        ),
        _query("direction", {"enum": ["asc", "desc"]}, "Sort direction"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size"),
        _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
    ]
    download = {
        "parameters": [
            NAME_PARAM,
            REF_PARAM,
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
            {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": _binary("The bytes; ETag is the quoted sha256"),
            "206": _binary("The requested range (Content-Range)"),
            "304": {"description": "Not modified (If-None-Match)"},
            **_errors(400, 401, 404, 416),
        },
    }
    paths: dict[str, Any] = {
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI")},
            }
        },
        "/api/whoami": {
            "get": {
                "summary": "The caller",
                "responses": {"200": _json(_ref("Whoami"), "The caller"), **_errors(401)},
            }
        },
        "/api/models": {
            "get": {
                "summary": "Search and list models",
                "parameters": list_params,
                "responses": {"200": _json(_ref("ModelPage"), "A page"), **_errors(400, 401)},
            }
        },
        "/api/models/{name}": {
            "get": {
                "summary": "One model",
                "parameters": [NAME_PARAM],
                "responses": {"200": _json(_ref("Model"), "The model"), **_errors(400, 401, 404)},
            },
            "patch": {
                "summary": "Edit a model (owner, admin)",
                "parameters": [NAME_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ModelPatch")}},
                },
                "responses": {
                    "200": _json(_ref("Model"), "The model"),
                    **_errors(*AUTH_ERRORS, 415),
                },
            },
        },
        "/api/models/{name}/versions": {
            "post": {
                "summary": "Publish a version (ONNX only; the server re-runs the test data)",
                "parameters": [NAME_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": _ref("Upload")}},
                },
                "responses": {
                    "201": _json(_ref("Version"), "The new version"),
                    **_errors(*AUTH_ERRORS, 409, 413, 415, 422),
                },
            }
        },
        "/api/models/{name}/versions/{ref}": {
            "get": {
                "summary": "One version",
                "parameters": [NAME_PARAM, REF_PARAM],
                "responses": {
                    "200": _json(_ref("Version"), "The version"),
                    **_errors(400, 401, 404),
                },
            },
            "delete": {
                "summary": "Delete a version (owner, admin; 409 while an alias points at it)",
                "parameters": [NAME_PARAM, REF_PARAM],
                "responses": {
                    "200": _json(_ref("Deleted"), "Marked deleted"),
                    **_errors(*AUTH_ERRORS, 409),
                },
            },
        },
        "/api/models/{name}/versions/{ref}/model.onnx": {
            "get": {"summary": "The ONNX bytes (counts a download)", **download}
        },
        "/api/models/{name}/versions/{ref}/test_data.npz": {
            "get": {"summary": "The test data set", **download}
        },
        "/api/models/{name}/versions/{ref}/files/{path}": {
            "get": {
                "summary": "One file of the version's manifest, by its path (a full GET of the "
                "graph counts a download)",
                **download,
                "parameters": [
                    *download["parameters"],
                    _path_param("path", "The file's path in the manifest (may contain '/')"),
                ],
            }
        },
        "/api/models/{name}/aliases/{alias}": {
            "put": {
                "summary": "Create or move an alias (write on the model)",
                "parameters": [NAME_PARAM, ALIAS_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AliasTarget")}},
                },
                "responses": {
                    "200": _json(_ref("Alias"), "The alias"),
                    **_errors(*AUTH_ERRORS, 415),
                },
            },
            "delete": {
                "summary": "Delete an alias (write on the model)",
                "parameters": [NAME_PARAM, ALIAS_PARAM],
                "responses": {"204": {"description": "Deleted"}, **_errors(*AUTH_ERRORS)},
            },
        },
    }
    from hub.server.api import community_routes

    paths.update(community_routes.PATHS)
    return {
        "openapi": "3.1.0",
        "info": {"title": "onnxhub catalog API", "version": hub.__version__},
        "components": {
            "schemas": {**SCHEMAS, **community_routes.SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }


async def document(request: web.Request) -> web.Response:
    return web.json_response(build_document())
