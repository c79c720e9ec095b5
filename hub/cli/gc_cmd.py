"""``onnxhub gc``: collect blobs no catalog row references (a dry run unless ``--yes``)."""

from __future__ import annotations

import click

from hub.cli.common import echo_json, open_hub


@click.command()
@click.option("--yes", is_flag=True, help="Delete the unreferenced blobs (default: only list).")
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="Keep blobs younger than this many seconds (a publish may be about to commit them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def gc(yes: bool, min_age: float, as_json: bool) -> None:
    """List (or with --yes delete) artifact blobs that no live version references.

    Publishing never deletes blobs itself, even when it fails: a concurrent publish of
    identical bytes may share them. Blobs of deleted versions are collected too.
    """
    with open_hub() as hub:
        report = hub.collect_garbage(dry_run=not yes, min_age=min_age)
    if as_json:
        echo_json(report.to_json())
        return
    for digest, size in report.unreferenced:
        click.echo(f"{'deleted' if yes else 'unreferenced'} {digest} ({size} bytes)")
    for name in report.stale_temp_files:
        click.echo(f"{'deleted' if yes else 'stale'} temporary file {name}")
    count, size = len(report.unreferenced), report.bytes
    if yes:
        click.echo(f"deleted {count} blob(s), {size} bytes")
    else:
        click.echo(f"{count} unreferenced blob(s), {size} bytes; run `onnxhub gc --yes` to delete")
    if report.kept_young:
        click.echo(f"kept {report.kept_young} unreferenced blob(s) younger than {min_age:g} s")
