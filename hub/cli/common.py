"""Helpers shared by CLI commands: the hub from settings, references, output."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from hub.catalog.refs import split_ref  # noqa: F401  (the CLI's reference parser)
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.api import Hub

console = Console(stderr=True, highlight=False)  # progress and diagnostics
out = Console(highlight=False)  # tables, the command's actual output


def open_hub() -> "Hub":
    """The hub configured by ``ONNXHUB_*`` variables (imported here: commands start fast)."""
    from hub.api import Hub

    return Hub(Settings.from_env())


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
