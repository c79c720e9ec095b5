"""Validation of a model card's front matter: the Hugging Face fields, each with its type.

``license``, ``pipeline_tag``, ``task``, ``library_name`` are strings; ``tags``, ``datasets``
and ``metrics`` are lists of strings (a single string is accepted as a list of one);
``base_model`` is a string or a list of strings. Other keys pass through untouched.
"""

from __future__ import annotations

from typing import Any

from hub.errors import InvalidInput
from hub.export.cards import ModelCard, parse_card
from hub.settings import ServingOptions

STRING_FIELDS = ("license", "pipeline_tag", "task", "library_name")
LIST_FIELDS = ("tags", "datasets", "metrics")


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def check_front_matter(metadata: dict[str, Any], where: str = "card") -> None:
    """InvalidInput naming the first field of ``metadata`` whose type is wrong."""
    for field in STRING_FIELDS:
        value = metadata.get(field)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise InvalidInput(f"{where} front matter field {field!r} must be a non-empty string")
    for field in LIST_FIELDS:
        value = metadata.get(field)
        if value is not None and not isinstance(value, str) and not _is_text_list(value):
            raise InvalidInput(f"{where} front matter field {field!r} must be a list of strings")
    base = metadata.get("base_model")
    if base is not None and not isinstance(base, str) and not _is_text_list(base):
        raise InvalidInput(f"{where} front matter field 'base_model' must be a string or a list")
    serving = metadata.get("serving")
    if serving is not None:  # the same typed options as ONNXHUB_MODEL_OPTIONS, field named
        ServingOptions.decode(serving, f"{where} front matter field 'serving'")


def parse_checked_card(text: str, where: str = "card") -> ModelCard:
    """Parse Markdown with front matter and check its fields (InvalidInput naming the field)."""
    if "\x00" in text:
        raise InvalidInput(f"{where} must not contain NUL characters")
    try:
        card = parse_card(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None
    check_front_matter(card.metadata, where)
    return card
