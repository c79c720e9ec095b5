"""Catalog commands: publish, models, show, alias, check, download."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from hub.catalog.manifest import Manifest
from hub.catalog.records import VersionInfo
from hub.cli.common import console, echo_json, open_hub, out, split_ref
from hub.errors import InvalidInput, ParityFailed

if TYPE_CHECKING:
    from hub.export.cards import ModelCard
    from hub.families.types import SampleData

#: Noise rows drawn (seeded) to check a generator's parity when no --sample is given.
GENERATOR_PARITY_ROWS = 16


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Model name (created on first publish).")
@click.option("--family", help="Family to use instead of the one that claims FILE.")
@click.option(
    "--sample",
    "sample_path",
    type=click.Path(path_type=Path),
    help="Held-out input rows (.npy, .npz per input, .csv) to check parity on; optional for "
    "an .onnx file (seeded synthetic inputs are used).",
)
@click.option("--alias", help="Point this alias (e.g. production) at the new version.")
@click.option(
    "--card", type=click.Path(path_type=Path), help="Model card (Markdown, YAML front matter)."
)
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@click.option("--task", help="Task, e.g. tabular-classification.")
@click.option("--allow-parity-failure", is_flag=True, help="Publish even if parity fails.")
@click.option(
    "--latent-dim",
    type=click.IntRange(min=1),
    help="FILE is a generator (GAN generator, VAE decoder) taking noise of this size; "
    "served with seed/num_samples parameters.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
def publish(
    file: Path,
    name: str,
    family: str | None,
    sample_path: Path | None,
    alias: str | None,
    card: Path | None,
    tags: tuple[str, ...],
    task: str | None,
    allow_parity_failure: bool,
    latent_dim: int | None,
    as_json: bool,
) -> None:
    """Export FILE to ONNX, check parity on --sample, and publish it as NAME's next version."""
    model: object = file
    if latent_dim is not None:
        from hub.families.generation import Generator

        model = Generator(file, latent_dim=latent_dim)
    sample: SampleData = None
    if sample_path is not None:
        from hub.export.samples import load_sample

        sample = load_sample(sample_path)
    elif latent_dim is not None:
        sample = GENERATOR_PARITY_ROWS
    elif file.suffix.lower() != ".onnx" and family != "onnx":
        raise InvalidInput("--sample is required to check parity for a framework model")
    with open_hub() as hub, console.status(f"exporting and checking {file.name}..."):
        version = hub.publish(
            model,
            name=name,
            sample=sample,
            family=family,
            card=card,
            tags=tags,
            task=task,
            alias=alias,
            allow_parity_failure=allow_parity_failure,
        )
    if as_json:
        echo_json(version.to_json())
        return
    click.echo(
        f"published {version.ref} ({version.family}, {version.size} bytes, sha256 {version.sha256[:12]})"
    )
    if version.parity:
        click.echo(_parity_summary(version.parity))


@click.command()
@click.option("--search", help="Substring of the name or description.")
@click.option("--task", help="Only models with this task.")
@click.option("--tag", help="Only models with this tag.")
@click.option("--json", "as_json", is_flag=True)
def models(search: str | None, task: str | None, tag: str | None, as_json: bool) -> None:
    """List catalogued models."""
    with open_hub() as hub:
        found = hub.list_models(search=search, task=task, tag=tag)
    if as_json:
        echo_json([m.to_json() for m in found])
        return
    if not found:
        click.echo("no models")
        return
    table = Table("name", "latest", "aliases", "task", "tags", box=None)
    for m in found:
        aliases = ", ".join(f"{a}->{v}" for a, v in sorted(m.aliases.items()))
        table.add_row(
            m.name, str(m.latest_version or "-"), aliases, m.task or "", ", ".join(m.tags)
        )
    out.print(table, soft_wrap=True)


def _describe(version: VersionInfo) -> str:
    lines = [
        f"{version.ref}  ({version.family}, {version.framework} {version.framework_version})",
        f"  created   {version.created_at:%Y-%m-%d %H:%M:%S}",
        f"  aliases   {', '.join(version.aliases) or '-'}",
        f"  task      {version.task or '-'}",
        f"  test data {_test_data_line(version)}",
        f"  onnx      opset {version.opset}, IR {version.ir_version}, {version.size} bytes",
        f"  sha256    {version.sha256}",
        *_provenance_lines(version),
        *_publisher_lines(version),
        "  inputs",
        *[f"    {t.name}: {t.datatype} {list(t.shape)}" for t in version.inputs],
        "  outputs",
        *[f"    {t.name}: {t.datatype} {list(t.shape)}" for t in version.outputs],
    ]
    if version.parity:
        lines.append(_parity_summary(version.parity))
    return "\n".join(lines)


def _provenance_lines(version: VersionInfo) -> list[str]:
    """Where a pulled version came from (``onnxhub pull``): source URL, version, sha256."""
    source = version.metadata.get("provenance")
    if not isinstance(source, dict):
        return []
    return [
        f"  pulled    from {source.get('source_url')} "
        f"{source.get('source_model')}:{source.get('source_version')} "
        f"(sha256 {str(source.get('sha256'))[:12]}...)"
    ]


def _publisher_lines(version: VersionInfo) -> list[str]:
    """Who published the version (the acting user: ``ONNXHUB_USER`` locally, the token's user
    over HTTP); versions published before this was recorded have no line."""
    who = version.metadata.get("published_by")
    return [f"  published by {who}"] if who else []


def _parity_summary(parity: dict) -> str:
    from hub.export.parity import ParityReport

    return ParityReport.from_json(parity).summary()


def _test_data_line(version: VersionInfo) -> str:
    note = version.metadata.get("test_data")
    if version.test_data_sha256 is None:
        return str(note or "none")
    return str(note or "the publisher's sample")


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
def show(ref: str, as_json: bool) -> None:
    """Show NAME[:VERSION|@ALIAS]: signature, parity report, aliases."""
    name, version_ref = split_ref(ref)
    with open_hub() as hub:
        model = hub.get_model(name)
        version = hub.get_version(name, version_ref)
        manifest = hub.manifest(version)
    card = _version_card(version)
    if as_json:
        echo_json(
            {
                "model": model.to_json(),
                "version": version.to_json(),
                "files": manifest.to_json(),
                "card": card.render() if card else None,
                "card_data": card.metadata if card else {},
            }
        )
        return
    click.echo(f"model {model.name} (owner {model.owner}, versions {list(model.versions)})")
    if model.description:
        click.echo(f"  {model.description}")
    click.echo(_describe(version))
    click.echo(_describe_files(manifest))
    click.echo(_describe_card(card))


def _version_card(version: VersionInfo) -> ModelCard | None:
    """The card stored with ``version`` (each version keeps the card it was published with)."""
    from hub.export.cards import ModelCard, parse_card

    text = version.metadata.get("card")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return parse_card(text)
    except InvalidInput:  # stored before cards were checked: show it as plain Markdown
        return ModelCard(body=text)


def _describe_card(card: ModelCard | None) -> str:
    """The card's front matter fields, one per line, then its Markdown body."""
    if card is None:
        return "  card      none"
    lines = ["  card"]
    for key, value in card.metadata.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"    {key}: {shown}")
    if card.body.strip():
        lines.append("")
        lines.extend(card.body.rstrip("\n").splitlines())
    return "\n".join(lines)


def _describe_files(manifest: Manifest) -> str:
    """The version's files, one line each, and their total size."""
    count = len(manifest.files)
    lines = [f"  files     {count} file{'s' if count > 1 else ''}, {_size(manifest.total_size)}"]
    for entry in manifest.files:
        lines.append(f"    {entry.path}  {_size(entry.size)}  sha256 {entry.sha256[:16]}")
    return "\n".join(lines)


def _size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit} ({size} bytes)"
    return f"{size} bytes"


@click.command()
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead.")
def alias(name: str, alias_name: str, version: str | None, delete: bool) -> None:
    """Point ALIAS of model NAME at VERSION (or --delete it)."""
    with open_hub() as hub:
        if delete:
            hub.delete_alias(name, alias_name)
            click.echo(f"deleted alias {name}@{alias_name}")
            return
        if version is None:
            raise InvalidInput("give the VERSION the alias should point at (or --delete)")
        target = hub.set_alias(name, alias_name, version)
    click.echo(f"{name}@{alias_name} -> {target.version}")


@click.command()
@click.argument("ref")
def check(ref: str) -> None:
    """Re-run NAME[:VERSION|@ALIAS]'s test data set through onnxruntime here."""
    name, version_ref = split_ref(ref)
    with open_hub() as hub:
        version, report = hub.check(name, version_ref)
    click.echo(f"{version.ref}: {report.summary()}")
    if not report.passed:
        raise SystemExit(ParityFailed.exit_code)


@click.command()
@click.argument("ref")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write: a file for a one-file model, a folder for a model with data files.",
)
@click.option("--test-data", is_flag=True, help="Download the test data set (.npz) instead.")
def download(ref: str, output: Path | None, test_data: bool) -> None:
    """Download NAME[:VERSION|@ALIAS]'s ONNX file, or its folder of graph and external-data
    files (each verified against its sha256), or its test data set."""
    name, version_ref = split_ref(ref)
    with open_hub() as hub:
        version = hub.get_version(name, version_ref)
        if not test_data:
            _download_model(hub, version, output)
            return
        data = hub.test_data(version)
    suffix = ".npz" if test_data else ".onnx"
    target = output or Path(
        f"{version.model}-{version.version}{'-test-data' if test_data else ''}{suffix}"
    )
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"wrote {target} ({len(data)} bytes)")


def _download_model(hub: Any, version: VersionInfo, output: Path | None) -> None:
    """A one-file model to a file (``-o x.onnx``); a model with data files, or any model given
    an existing folder, to a folder that then holds the graph and its data files."""
    manifest = hub.manifest(version)
    if manifest.data or (output is not None and output.is_dir()):
        folder = output or Path(f"{version.model}-{version.version}")
        written = hub.download_files(version, folder)
        click.echo(
            f"wrote {len(written)} file{'s' if len(written) > 1 else ''} to {folder} "
            f"({manifest.total_size} bytes, every sha256 verified)"
        )
        return
    target = output or Path(f"{version.model}-{version.version}.onnx")
    target.unlink(missing_ok=True)  # an explicit target file is replaced, as before
    single = Manifest((replace(manifest.graph, path=target.name),))
    from hub.catalog.model_files import download as download_files

    download_files(hub.artifacts, single, target.parent, version.ref)
    click.echo(f"wrote {target} ({manifest.total_size} bytes)")
