"""The community routes of ``/api`` (likes, comments, contributions), registered with the
catalog routes by :func:`hub.server.api.add_routes`, and their part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.catalog.community import CommunityService
from hub.server.api import community, contributions
from hub.server.keys import HUB

_CONTRIBUTION = "/api/models/{name}/contributions/{id}"

ROUTES: tuple[tuple[str, str, object], ...] = (
    ("POST", "/api/models/{name}/like", community.like),
    ("DELETE", "/api/models/{name}/like", community.unlike),
    ("GET", "/api/models/{name}/comments", community.list_comments),
    ("POST", "/api/models/{name}/comments", community.post_comment),
    ("DELETE", "/api/models/{name}/comments/{comment}", community.delete_comment),
    ("GET", "/api/models/{name}/contributions", contributions.list_contributions),
    ("POST", "/api/models/{name}/contributions", contributions.open_contribution),
    ("GET", _CONTRIBUTION, contributions.get_contribution),
    ("POST", _CONTRIBUTION + "/approve", contributions.approve),
    ("POST", _CONTRIBUTION + "/reject", contributions.reject),
)


def install(app: web.Application) -> None:
    """Create the app's community service (before the app starts)."""
    app[community.COMMUNITY] = CommunityService(app[HUB])


# -- OpenAPI ----------------------------------------------------------------------------------

_STR = {"type": "string"}
_NULL_STR = {"type": ["string", "null"]}
_ID = {"type": "integer", "minimum": 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json(_ref("Error"), f"Error {c}") for c in codes}


def _path(name: str, description: str, integer: bool = False) -> dict[str, Any]:
    schema = {"type": "string", "pattern": "^[0-9]+$"} if integer else {"type": "string"}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "Model name",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_CID = _path("id", "Contribution id", integer=True)

SCHEMAS: dict[str, Any] = {
    "LikeState": {
        "type": "object",
        "required": ["model", "liked", "likes"],
        "properties": {
            "model": _STR,
            "liked": {"type": "boolean"},
            "likes": {"type": "integer", "minimum": 0},
        },
    },
    "Comment": {
        "type": "object",
        "required": ["id", "author", "body", "contribution", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "author": _STR,
            "body": _STR,
            "contribution": {"type": ["integer", "null"]},
            "created_at": _STR,
        },
    },
    "CommentList": {
        "type": "object",
        "required": ["comments"],
        "properties": {"comments": {"type": "array", "items": _ref("Comment")}},
    },
    "NewComment": {
        "type": "object",
        "required": ["body"],
        "additionalProperties": False,
        "properties": {"body": _STR, "contribution": _ID},
    },
    "Check": {
        "type": "object",
        "required": ["name", "passed", "detail"],
        "properties": {"name": _STR, "passed": {"type": "boolean"}, "detail": _STR},
    },
    "Contribution": {
        "type": "object",
        "required": ["id", "model", "status", "author", "title", "checks", "passed"],
        "properties": {
            "id": {"type": "integer"},
            "model": _STR,
            "status": {"enum": ["open", "approved", "rejected"]},
            "author": _STR,
            "title": _STR,
            "description": _NULL_STR,
            "checks": {"type": "array", "items": _ref("Check")},
            "passed": {"type": "boolean"},
            "signature_diff": {"type": "object"},
            "parity": {"type": ["object", "null"]},
            "target_version": {"type": ["integer", "null"]},
            "sha256": _STR,
            "size": {"type": "integer"},
            "version": {"type": ["integer", "null"]},
            "decided_by": _NULL_STR,
            "decision_comment": _NULL_STR,
        },
    },
    "ContributionList": {
        "type": "object",
        "required": ["contributions"],
        "properties": {"contributions": {"type": "array", "items": _ref("Contribution")}},
    },
    "ContributionUpload": {
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"type": "string", "contentMediaType": "application/octet-stream"},
            "test_data": {"type": "string", "contentMediaType": "application/octet-stream"},
            "card": _STR,
            "metadata": {"type": "string", "description": "JSON object, as for versions"},
            "contribution": {
                "type": "string",
                "description": "JSON object: title, description, signature_change",
            },
        },
    },
    "Approval": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"alias": _STR, "comment": _STR},
    },
    "Rejection": {
        "type": "object",
        "required": ["comment"],
        "additionalProperties": False,
        "properties": {"comment": _STR},
    },
    "Approved": {
        "type": "object",
        "required": ["contribution", "version"],
        "properties": {"contribution": _ref("Contribution"), "version": _ref("Version")},
    },
}

_AUTH = (400, 401, 403, 404)


def _body(schema: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref(schema)}}}


PATHS: dict[str, Any] = {
    "/api/models/{name}/like": {
        "post": {
            "summary": "Like a model (idempotent)",
            "parameters": [_NAME],
            "responses": {"200": _json(_ref("LikeState"), "Liked"), **_errors(*_AUTH)},
        },
        "delete": {
            "summary": "Take a like back (idempotent)",
            "parameters": [_NAME],
            "responses": {"200": _json(_ref("LikeState"), "Not liked"), **_errors(*_AUTH)},
        },
    },
    "/api/models/{name}/comments": {
        "get": {
            "summary": "Comments on the model, or on one contribution",
            "parameters": [
                _NAME,
                {"name": "contribution", "in": "query", "required": False, "schema": _ID},
            ],
            "responses": {
                "200": _json(_ref("CommentList"), "Oldest first"),
                **_errors(400, 401, 404),
            },
        },
        "post": {
            "summary": "Comment (Markdown) on the model or one of its contributions",
            "parameters": [_NAME],
            "requestBody": _body("NewComment"),
            "responses": {"201": _json(_ref("Comment"), "Added"), **_errors(*_AUTH, 415)},
        },
    },
    "/api/models/{name}/comments/{comment}": {
        "delete": {
            "summary": "Delete a comment (its author, an admin)",
            "parameters": [_NAME, _path("comment", "Comment id", integer=True)],
            "responses": {"204": {"description": "Deleted"}, **_errors(*_AUTH)},
        }
    },
    "/api/models/{name}/contributions": {
        "get": {
            "summary": "Contributions to the model, newest first",
            "parameters": [
                _NAME,
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["open", "approved", "rejected"]},
                },
            ],
            "responses": {
                "200": _json(_ref("ContributionList"), "Contributions"),
                **_errors(400, 401, 404),
            },
        },
        "post": {
            "summary": "Propose a new version: the server runs and stores its checks",
            "parameters": [_NAME],
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": _ref("ContributionUpload")}},
            },
            "responses": {
                "201": _json(_ref("Contribution"), "Opened, with its checks"),
                **_errors(*_AUTH, 413, 415),
            },
        },
    },
    _CONTRIBUTION: {
        "get": {
            "summary": "One contribution",
            "parameters": [_NAME, _CID],
            "responses": {"200": _json(_ref("Contribution"), "It"), **_errors(400, 401, 404)},
        }
    },
    _CONTRIBUTION + "/approve": {
        "post": {
            "summary": "Approve: it becomes the next version (owner, collaborator, admin)",
            "parameters": [_NAME, _CID],
            "requestBody": _body("Approval", required=False),
            "responses": {
                "200": _json(_ref("Approved"), "The new version"),
                **_errors(*_AUTH, 409, 415),
            },
        }
    },
    _CONTRIBUTION + "/reject": {
        "post": {
            "summary": "Reject with a comment (owner, collaborator, admin)",
            "parameters": [_NAME, _CID],
            "requestBody": _body("Rejection"),
            "responses": {
                "200": _json(_ref("Contribution"), "Rejected"),
                **_errors(*_AUTH, 409, 415),
            },
        }
    },
}
