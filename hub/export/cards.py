"""Model cards: Markdown with YAML front matter (license, tags, task, library), as on HF Hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from hub.errors import InvalidInput


@dataclass(frozen=True)
class ModelCard:
    """A parsed card: front-matter fields and the Markdown body."""

    metadata: dict[str, Any] = field(default_factory=dict)
    body: str = ""

    @property
    def license(self) -> str | None:
        value = self.metadata.get("license")
        return None if value is None else str(value)

    @property
    def task(self) -> str | None:
        value = self.metadata.get("task") or self.metadata.get("pipeline_tag")
        return None if value is None else str(value)

    @property
    def tags(self) -> list[str]:
        tags = self.metadata.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list):
            raise InvalidInput("card front matter 'tags' must be a list")
        return [str(t) for t in tags]

    @property
    def description(self) -> str | None:
        """The first paragraph of the body that is not a heading."""
        for paragraph in self.body.split("\n\n"):
            text = paragraph.strip()
            if text and not text.startswith("#"):
                return " ".join(text.split())[:500]
        return None

    def render(self) -> str:
        """The card as Markdown with front matter."""
        if not self.metadata:
            return self.body
        front = yaml.safe_dump(self.metadata, sort_keys=True).strip()
        return f"---\n{front}\n---\n\n{self.body.lstrip()}"


def parse_card(text: str) -> ModelCard:
    """Parse Markdown with optional ``---`` YAML front matter; InvalidInput for bad YAML."""
    if not text.startswith("---"):
        return ModelCard({}, text)
    lines = text.splitlines(keepends=True)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            break
    else:
        raise InvalidInput("model card front matter starts with '---' but is never closed")
    try:
        metadata = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"model card front matter is not valid YAML: {exc}") from None
    if not isinstance(metadata, dict):
        raise InvalidInput("model card front matter must be a YAML mapping")
    return ModelCard(metadata, body)
