"""``onnxhub plugins new NAME``: scaffold a community family package."""

from __future__ import annotations

from pathlib import Path

import click

from hub.families.scaffold import installed_family, scaffold_plugin, validate_family_name


@click.command("new")
@click.argument("name")
@click.option(
    "--dest",
    default="contrib",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the package is created in.",
)
def new_plugin(name: str, dest: Path) -> None:
    """Create DEST/onnxhub-NAME: a family plugin whose tests fail until it is written."""
    provider = installed_family(validate_family_name(name))
    if provider is not None:
        click.echo(
            f"warning: a family named {name!r} is already installed ({provider}); installing "
            "a second one is a start-up error: choose another name or uninstall it first",
            err=True,
        )
    target = scaffold_plugin(name, dest)
    click.echo(f"created {target}")
    click.echo(f"  edit     {target / f'onnxhub_{name}' / 'family.py'} and cases.py")
    click.echo(f"  test     python -m pytest {target / 'tests'}   (red until implemented)")
    click.echo(f"  install  pip install -e {target}")
    click.echo(
        f"  suite    python -m pytest --pyargs hub.families.conformance --onnxhub-family {name}"
    )
