"""The ``onnxhub`` command line: one group, commands in small modules, one error path."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hub.errors import HubError

#: Command name -> "module:attribute": each is imported only when it runs (or ``--help`` lists
#: it), so a catalog command never pays for the server's, the exporters' or the plugins' imports.
LAZY_COMMANDS: dict[str, str] = {
    "publish": "hub.cli.catalog_cmds:publish",
    "models": "hub.cli.catalog_cmds:models",
    "show": "hub.cli.catalog_cmds:show",
    "alias": "hub.cli.catalog_cmds:alias",
    "check": "hub.cli.catalog_cmds:check",
    "download": "hub.cli.catalog_cmds:download",
    "gc": "hub.cli.gc_cmd:gc",
    "plugins": "hub.cli.main:plugins_group",
    "demo": "hub.cli.demo:demo",
    "serve": "hub.cli.serve_cmd:serve",
    "export": "hub.cli.export_cmds:export",
    "score": "hub.cli.score_cmd:score",
    "db": "hub.cli.db_cmd:db",
    "users": "hub.cli.accounts_cmd:users",
    "tokens": "hub.cli.accounts_cmd:tokens",
    "collaborators": "hub.cli.accounts_cmd:collaborators",
    "login": "hub.cli.remote_cmds:login",
    "push": "hub.cli.remote_cmds:push",
    "pull": "hub.cli.remote_cmds:pull",
    "contribute": "hub.cli.contribute_cmds:contribute",
    "contributions": "hub.cli.contribute_cmds:contributions",
}


def plugins_group() -> click.Command:
    """``onnxhub plugins`` with its ``new`` subcommand."""
    from hub.cli.plugins_cmd import plugins
    from hub.cli.scaffold_cmd import new_plugin

    plugins.add_command(new_plugin)
    return plugins


class HubGroup(click.Group):
    """A click group that turns :class:`HubError` into one line on stderr and its exit code,
    and imports each command of :data:`LAZY_COMMANDS` only when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            module, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
            loaded = getattr(importlib.import_module(module), attribute)
            command = loaded if isinstance(loaded, click.Command) else loaded()
            self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=HubGroup)
@click.version_option(package_name="onnxhub")
def cli() -> None:
    """onnxhub: publish, check and serve ONNX models from any framework."""


if __name__ == "__main__":
    cli()
