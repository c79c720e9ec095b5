"""Helpers shared by CLI commands: the hub from settings, references, output."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from hub.api import Hub
from hub.catalog.queries import check_model_name
from hub.errors import InvalidInput
from hub.settings import Settings

console = Console(stderr=True, highlight=False)  # progress and diagnostics
out = Console(highlight=False)  # tables, the command's actual output


def open_hub() -> Hub:
    """The hub configured by ``ONNXHUB_*`` variables."""
    return Hub(Settings.from_env())


def split_ref(text: str) -> tuple[str, int | str | None]:
    """``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` as (name, ref)."""
    if "@" in text:
        name, _, alias = text.partition("@")
        if not alias:
            raise InvalidInput(f"{text!r}: an alias is missing after '@'")
        return check_model_name(name), alias
    if ":" in text:
        name, _, version = text.partition(":")
        if not version.isdigit() or int(version) < 1:
            raise InvalidInput(f"{text!r}: the version after ':' must be a positive integer")
        return check_model_name(name), int(version)
    return check_model_name(text), None


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
