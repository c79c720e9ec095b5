"""The community routes of a remote hub from Python: contributions, likes, comments.

    client = CommunityClient("https://hub.example.com", token="onh_...")
    opened = client.contribute(model, to="iris", sample=X)   # exported and checked here first
    [c["name"] for c in opened["checks"] if not c["passed"]]
    client.approve("iris", opened["id"])                      # as the owner: the next version

A :class:`hub.client.Client` with the routes of :mod:`hub.server.api.community_routes`.
"""

from __future__ import annotations

import json
from typing import Any

from hub.client import Client, checked_here, export_metadata, model_form


class CommunityClient(Client):
    """:class:`hub.client.Client` plus contributions, likes and comments."""

    def contribute_bytes(
        self,
        name: str,
        model_bytes: bytes,
        *,
        test_data: bytes | None = None,
        card: str | None = None,
        metadata: dict[str, Any] | None = None,
        title: str | None = None,
        description: str | None = None,
        signature_change: str | None = None,
    ) -> dict[str, Any]:
        """``POST /api/models/{name}/contributions``: the stored contribution with the
        server's checks (it is opened even when some fail)."""
        files = model_form(model_bytes, test_data, card, metadata)
        text = {
            k: v
            for k, v in (
                ("title", title),
                ("description", description),
                ("signature_change", signature_change),
            )
            if v
        }
        if text:
            files.append(("contribution", (None, json.dumps(text).encode(), "application/json")))
        return self._json("POST", f"/api/models/{name}/contributions", files=files)

    def contribute(
        self,
        model_or_path: Any,
        *,
        to: str,
        sample: Any,
        family: str | None = None,
        card: str | None = None,
        title: str | None = None,
        description: str | None = None,
        signature_change: str | None = None,
    ) -> dict[str, Any]:
        """Export and check parity here through the families (ParityFailed: nothing is sent),
        then open a contribution to model ``to`` with the ONNX file and its test data."""
        checked = checked_here(
            model_or_path,
            sample,
            family,
            f"parity check failed here; nothing was sent to {self.url}",
        )
        metadata = export_metadata(checked)
        task = checked.exported.task or checked.card_defaults.get("task")
        library = checked.card_defaults.get("library")
        if task:
            metadata["task"] = task
        if library:
            metadata["library"] = library
        return self.contribute_bytes(
            to,
            checked.model_bytes,
            test_data=checked.test_data,
            card=card,
            metadata=metadata,
            title=title,
            description=description,
            signature_change=signature_change,
        )

    def contributions(self, name: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else None
        return self._json("GET", f"/api/models/{name}/contributions", params=params)[
            "contributions"
        ]

    def contribution(self, name: str, number: int) -> dict[str, Any]:
        return self._json("GET", f"/api/models/{name}/contributions/{int(number)}")

    def approve(
        self, name: str, number: int, alias: str | None = None, comment: str | None = None
    ) -> dict[str, Any]:
        """Owner, collaborator or admin: ``{"contribution", "version"}``."""
        body = {k: v for k, v in (("alias", alias), ("comment", comment)) if v}
        return self._json(
            "POST", f"/api/models/{name}/contributions/{int(number)}/approve", json=body
        )

    def reject(self, name: str, number: int, comment: str) -> dict[str, Any]:
        return self._json(
            "POST",
            f"/api/models/{name}/contributions/{int(number)}/reject",
            json={"comment": comment},
        )

    def like(self, name: str) -> dict[str, Any]:
        return self._json("POST", f"/api/models/{name}/like")

    def unlike(self, name: str) -> dict[str, Any]:
        return self._json("DELETE", f"/api/models/{name}/like")

    def comments(self, name: str, contribution: int | None = None) -> list[dict[str, Any]]:
        params = {"contribution": contribution} if contribution is not None else None
        return self._json("GET", f"/api/models/{name}/comments", params=params)["comments"]

    def comment(self, name: str, body: str, contribution: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"body": body}
        if contribution is not None:
            payload["contribution"] = contribution
        return self._json("POST", f"/api/models/{name}/comments", json=payload)
