"""``onnxhub export``: write catalogued models in another serving system's layout."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.common import console, echo_json, open_hub, split_ref


@click.group()
def export() -> None:
    """Export catalogued models for other serving systems."""


@export.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--models",
    "-m",
    "models",
    multiple=True,
    help="NAME, NAME:VERSION or NAME@ALIAS (repeatable or comma-separated; default: every "
    "model at its served version: production alias, else latest).",
)
@click.option("--overwrite", is_flag=True, help="Replace model folders that already exist.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def triton(directory: Path, models: tuple[str, ...], overwrite: bool, as_json: bool) -> None:
    """Write a Triton model repository to DIRECTORY.

    Each model becomes DIRECTORY/NAME/config.pbtxt (platform onnxruntime_onnx, inputs and
    outputs, max_batch_size and dynamic batching from the model's serving options) and
    DIRECTORY/NAME/VERSION/model.onnx. Serve it with
    `tritonserver --model-repository DIRECTORY`.
    """
    from hub.interop.triton import export_repository

    refs = None
    if models:
        refs = [split_ref(part.strip()) for item in models for part in item.split(",") if part]
    with open_hub() as hub:
        written = export_repository(hub, directory, refs, overwrite=overwrite)
    if as_json:
        echo_json(
            [
                {
                    "name": m.name,
                    "versions": m.versions,
                    "path": str(m.path),
                    "max_batch_size": m.max_batch_size,
                }
                for m in written
            ]
        )
        return
    for m in written:
        versions = ", ".join(str(v) for v in m.versions)
        batching = f"max_batch_size {m.max_batch_size}" if m.max_batch_size else "no batching"
        console.print(f"{m.name} (version {versions}, {batching}) -> {m.path}")
