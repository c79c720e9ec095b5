"""Model cards: Markdown with YAML front matter (license, tags, task, library), as on HF Hub."""

from __future__ import annotations

import re
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


#: Front matter as the Hugging Face Hub finds it: after an optional byte-order mark and
#: leading blank space, a ``---`` line, the YAML, and a closing ``---`` line (any line endings).
_FRONT_START = re.compile(r"\A\ufeff?\s*---[ \t]*(?:\r\n|\r|\n)")


def parse_card(text: str) -> ModelCard:
    """Parse Markdown with optional ``---`` YAML front matter; InvalidInput for bad YAML.

    The front matter is found as the Hugging Face Hub finds it: a UTF-8 byte-order mark and
    blank lines before the opening ``---`` are allowed, and ``\r\n`` line endings too. A card
    whose front matter is opened and never closed is refused, never read as Markdown. Line
    endings are stored as ``\n``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _FRONT_START.match(text)
    if start is None:
        return ModelCard({}, text.removeprefix("\ufeff"))
    lines = text[start.end() :].splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip() == "---":
            front = "".join(lines[:index])
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
