"""Commands that talk to another hub: ``onnxhub login``, ``onnxhub push``, ``onnxhub pull``."""

from __future__ import annotations

import click

from hub.cli.accounts_cmd import acting_user
from hub.cli.common import echo_json, open_hub, split_ref
from hub.client import Client
from hub.errors import InvalidInput
from hub.settings import Settings
from hub.transfer import remote_ref, save_token, token_for


def _client(url: str) -> Client:
    return Client(url, token=token_for(Settings.from_env().home, url))


@click.command()
@click.argument("url")
@click.option("--token", help="The token (prompted for, hidden, when omitted).")
def login(url: str, token: str | None) -> None:
    """Check a token against the hub at URL and store it in ONNXHUB_HOME (mode 0600)."""
    if token is None:
        token = click.prompt("token", hide_input=True)
    with Client(url, token=token) as client:
        who = client.whoami()
    if who.get("user") is None:
        raise InvalidInput(f"{url} did not accept the token")
    path = save_token(Settings.from_env().home, url, token)
    click.echo(
        f"logged in to {url} as {who['user']} ({', '.join(who['scopes'])}); token stored in {path}"
    )


@click.command()
@click.argument("ref")
@click.option("--to", "url", required=True, help="URL of the hub to push to.")
@click.option("--json", "as_json", is_flag=True, help="Print the remote version as JSON.")
def push(ref: str, url: str, as_json: bool) -> None:
    """Upload the local version NAME[:V] (or NAME@ALIAS) to the hub at --to."""
    from hub.transfer import push as push_version

    name, version = split_ref(ref)
    with open_hub() as hub, _client(url) as client:
        result = push_version(hub, client, name, version)
    if as_json:
        echo_json(result)
    else:
        click.echo(
            f"pushed {ref} to {url} as {result['model']}:{result['version']} "
            f"(sha256 {result['sha256'][:12]}, parity re-run there: "
            f"{'passed' if (result.get('parity') or {}).get('passed') else 'n/a'})"
        )


@click.command()
@click.argument("url")
@click.argument("ref")
@click.option("--as", "as_name", help="Local model name (default: the remote one).")
@click.option("--json", "as_json", is_flag=True, help="Print the local version as JSON.")
def pull(url: str, ref: str, as_name: str | None, as_json: bool) -> None:
    """Copy the version NAME[:V] (or NAME@ALIAS) of the hub at URL into the local catalog."""
    from hub.transfer import pull as pull_version

    remote_ref(ref)
    with open_hub() as hub, _client(url) as client:
        result, added = pull_version(hub, client, ref, as_name, acting_user())
    if as_json:
        echo_json(result)
        return
    source = result.get("provenance") or {}
    where = (
        f"{source.get('source_url')} {source.get('source_model')}:{source.get('source_version')}"
    )
    if not added:
        click.echo(f"{result['model']}:{result['version']} is already here (from {where})")
        return
    click.echo(
        f"pulled {where} as {result['model']}:{result['version']} "
        f"(sha256 {result['sha256'][:12]} verified, parity re-run here: "
        f"{'passed' if (result.get('parity') or {}).get('passed') else 'n/a'})"
    )
