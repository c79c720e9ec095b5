"""``onnxhub plugins``: the installed families, where they come from, and broken plugins."""

from __future__ import annotations

import click
from rich.table import Table

from hub.cli.common import console, echo_json, out
from hub.families.registry import get_plugin_manager


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List model families with their distribution and version."""
    if ctx.invoked_subcommand is not None:
        return
    registry = get_plugin_manager()
    rows = [
        {
            "family": f.info.name,
            "framework": f.info.framework,
            "plugin": f.plugin,
            "distribution": f.distribution,
            "version": f.version,
            "available": f.info.available,
            "install_hint": f.info.install_hint,
            "summary": f.info.summary,
        }
        for f in sorted(registry.families.values(), key=lambda f: f.info.name)
    ]
    broken = [
        {"plugin": b.name, "distribution": b.distribution, "error": b.error}
        for b in registry.broken
    ]
    if as_json:
        echo_json({"families": rows, "broken": broken})
        return
    table = Table("family", "framework", "distribution", "version", "status", box=None)
    for row in rows:
        status = "ok" if row["available"] else f"unavailable: {row['install_hint']}"
        table.add_row(
            str(row["family"]),
            str(row["framework"]),
            str(row["distribution"] or "-"),
            str(row["version"] or "-"),
            status,
        )
    out.print(table, soft_wrap=True)
    for b in broken:
        console.print(
            f"[red]broken plugin {b['plugin']}[/red] ({b['distribution'] or '?'}): {b['error']}"
        )
