"""``onnxhub contribute`` and ``onnxhub contributions list|show|approve|reject``: pull requests
for models on a remote hub.

The hub is ``--hub URL``, else the one hub ``onnxhub login`` stored a token for; the token is
``ONNXHUB_TOKEN`` or the stored one. ``contribute`` exits 5 (a failed check) when the
contribution was opened but some of the server's checks failed: it cannot be approved then.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hub.cli.common import echo_json
from hub.community_client import CommunityClient
from hub.errors import InvalidInput, ParityFailed
from hub.settings import Settings
from hub.transfer import _load, credentials_path, token_for

HUB_OPTION = click.option(
    "--hub", "hub_url", help="URL of the hub (default: the one `onnxhub login` stored)."
)


def hub_url(given: str | None) -> str:
    """``--hub``, or the only hub with a stored token."""
    if given:
        return given
    stored = sorted(_load(credentials_path(Settings.from_env().home)))
    if len(stored) == 1:
        return stored[0]
    raise InvalidInput(
        "which hub? pass --hub URL (or log in to exactly one with `onnxhub login URL`)"
        + (f" (logged in to: {', '.join(stored)})" if stored else "")
    )


def _client(given: str | None) -> CommunityClient:
    url = hub_url(given)
    return CommunityClient(url, token=token_for(Settings.from_env().home, url))


def _echo_checks(record: dict[str, Any]) -> None:
    for check in record["checks"]:
        mark = "ok  " if check["passed"] else "FAIL"
        click.echo(f"  [{mark}] {check['name']}: {check['detail']}")


def _echo_contribution(record: dict[str, Any]) -> None:
    click.echo(
        f"#{record['id']} {record['title']} by {record['author']}: {record['status']}"
        + (f" (version {record['version']})" if record.get("version") else "")
    )
    _echo_checks(record)
    if record.get("decision_comment"):
        click.echo(f"  {record['decided_by']}: {record['decision_comment']}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True))
@click.option("--to", "name", required=True, help="The model this proposes a version of.")
@HUB_OPTION
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(path_type=Path),
    help="Held-out input rows (.npy, .npz per input, .csv) to check parity on here and there.",
)
@click.option("--family", help="Family to use instead of the one that claims FILE.")
@click.option("--title", help="One line saying what the contribution changes.")
@click.option("--message", help="A longer description (Markdown).")
@click.option(
    "--signature-change",
    help="Why the inputs or outputs change on purpose (otherwise a change fails the check).",
)
@click.option("--card", type=click.Path(path_type=Path), help="Model card for the new version.")
@click.option("--json", "as_json", is_flag=True, help="Print the contribution as JSON.")
def contribute(
    file: Path,
    name: str,
    hub_url: str | None,
    sample_path: Path | None,
    family: str | None,
    title: str | None,
    message: str | None,
    signature_change: str | None,
    card: Path | None,
    as_json: bool,
) -> None:
    """Export FILE, check parity here, and propose it as the next version of --to."""
    from hub.export.samples import load_sample

    sample = load_sample(sample_path) if sample_path is not None else None
    if sample is None and file.suffix.lower() != ".onnx" and family != "onnx":
        raise InvalidInput("--sample is required to check parity for a framework model")
    with _client(hub_url) as client:
        record = client.contribute(
            file,
            to=name,
            sample=sample,
            family=family,
            card=card.read_text(encoding="utf-8") if card else None,
            title=title,
            description=message,
            signature_change=signature_change,
        )
    if as_json:
        echo_json(record)
    else:
        click.echo(f"opened contribution #{record['id']} to {name} on {client.url}")
        _echo_checks(record)
    if not record["passed"]:
        failed = [c["name"] for c in record["checks"] if not c["passed"]]
        click.echo(f"error: checks failed ({', '.join(failed)}): it cannot be approved", err=True)
        sys.exit(ParityFailed.exit_code)


@click.group()
def contributions() -> None:
    """Contributions to a model on a remote hub: list, show, approve, reject."""


@contributions.command("list")
@click.argument("name")
@click.option("--status", type=click.Choice(["open", "approved", "rejected"]))
@HUB_OPTION
@click.option("--json", "as_json", is_flag=True)
def list_contributions(name: str, status: str | None, hub_url: str | None, as_json: bool) -> None:
    """The contributions to NAME, newest first."""
    with _client(hub_url) as client:
        rows = client.contributions(name, status)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no contributions")
    for row in rows:
        checks = "checks passed" if row["passed"] else "checks FAILED"
        click.echo(
            f"#{row['id']}  {row['status']:<8}  {checks:<13}  {row['author']}: {row['title']}"
        )


@contributions.command("show")
@click.argument("name")
@click.argument("number", type=click.IntRange(min=1))
@HUB_OPTION
@click.option("--json", "as_json", is_flag=True)
def show(name: str, number: int, hub_url: str | None, as_json: bool) -> None:
    """One contribution with its checks."""
    with _client(hub_url) as client:
        record = client.contribution(name, number)
    if as_json:
        echo_json(record)
    else:
        _echo_contribution(record)


@contributions.command("approve")
@click.argument("name")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--alias", help="Also point this alias (e.g. production) at the new version.")
@click.option("--comment", help="A word for the contributor.")
@HUB_OPTION
@click.option("--json", "as_json", is_flag=True)
def approve(
    name: str,
    number: int,
    alias: str | None,
    comment: str | None,
    hub_url: str | None,
    as_json: bool,
) -> None:
    """Make contribution NUMBER the next version of NAME (owner, collaborator, admin)."""
    with _client(hub_url) as client:
        result = client.approve(name, number, alias=alias, comment=comment)
    if as_json:
        echo_json(result)
        return
    version = result["version"]
    click.echo(
        f"approved #{number}: {name}:{version['version']} (sha256 {version['sha256'][:12]})"
        + (f", {alias} -> {version['version']}" if alias else "")
    )


@contributions.command("reject")
@click.argument("name")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--comment", required=True, help="Why.")
@HUB_OPTION
@click.option("--json", "as_json", is_flag=True)
def reject(name: str, number: int, comment: str, hub_url: str | None, as_json: bool) -> None:
    """Close contribution NUMBER of NAME without a version."""
    with _client(hub_url) as client:
        result = client.reject(name, number, comment)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"rejected #{number} of {name}")
