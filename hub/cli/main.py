"""The ``onnxhub`` command line: one group, commands in small modules, one error path."""

from __future__ import annotations

import sys
from typing import Any

import click

from hub.errors import HubError


class HubGroup(click.Group):
    """A click group that turns :class:`HubError` into one line on stderr and its exit code."""

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


def _register() -> None:
    from hub.cli.catalog_cmds import alias, check, download, models, publish, show
    from hub.cli.demo import demo
    from hub.cli.plugins_cmd import plugins
    from hub.cli.scaffold_cmd import new_plugin
    from hub.cli.serve_cmd import serve

    plugins.add_command(new_plugin)

    for command in (publish, models, show, alias, check, download, plugins, demo, serve):
        cli.add_command(command)

    from hub.cli.export_cmds import export
    from hub.cli.score_cmd import score

    cli.add_command(export)
    cli.add_command(score)

    from hub.cli.db_cmd import db

    cli.add_command(db)


_register()


def _register_sharing() -> None:
    from hub.cli.accounts_cmd import collaborators, tokens, users
    from hub.cli.remote_cmds import login, pull, push

    for command in (users, tokens, collaborators, login, push, pull):
        cli.add_command(command)


_register_sharing()


if __name__ == "__main__":
    cli()


def _register_community() -> None:
    from hub.cli.contribute_cmds import contribute, contributions

    cli.add_command(contribute)
    cli.add_command(contributions)


_register_community()
