"""The steps of publishing a version, each small and named; :meth:`hub.api.Hub.publish`
runs them in order:

1. :func:`check_request`: names, alias, tags, card, task and serving options, all checked
   before the (slow) export, so a typo fails in a second and nothing is written;
2. export and check (:func:`hub.export.convert.convert_and_check`);
3. :func:`require_parity`: refuse a failed parity report unless told otherwise;
4. :func:`catalog_entry`: what the catalog stores beyond the export: the task (one vocabulary,
   :mod:`hub.families.tasks`), tags, and the version's metadata; a ``generation`` version must
   be servable with ``seed``/``num_samples``;
5. storing the blobs and writing the rows in one transaction (:class:`hub.api.Hub`), under
   the store's publishing lock (:func:`hub.catalog.gc.publishing_lock`); blobs are never
   deleted here: ``onnxhub gc`` collects the unreferenced ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from hub.catalog.refs import check_alias_name, check_model_name, check_tag
from hub.errors import InvalidInput, ParityFailed, PluginError
from hub.export.card_fields import check_front_matter
from hub.export.cards import ModelCard, parse_card
from hub.families.tasks import GENERATION, canonical_task
from hub.onnx.signature import TensorSpec
from hub.settings import ServingOptions

if TYPE_CHECKING:  # the export machinery is imported by hub.api only when publishing
    from hub.export.convert import CheckedExport

FLOAT_DATATYPES = ("FP16", "FP32", "FP64")


@dataclass(frozen=True)
class PublishRequest:
    """What the caller asked for, checked: everything but the model and its sample."""

    name: str
    alias: str | None
    tags: tuple[str, ...]
    card: ModelCard
    task: str | None  # the caller's or the card's, in the catalog's vocabulary
    license: str | None
    serving: ServingOptions | None


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalog stores for the version beyond the export itself."""

    task: str | None
    tags: tuple[str, ...]
    license: str | None
    extra: dict[str, Any]


def read_card(card: str | Path | ModelCard | None) -> ModelCard:
    """A card given as text, a path or a parsed card (InvalidInput for a bad one)."""
    if card is None:
        return ModelCard()
    if isinstance(card, ModelCard):
        return card
    if isinstance(card, Path):
        try:
            text = card.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InvalidInput(f"cannot read model card {str(card)!r}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"model card {str(card)!r} is not UTF-8 text: {exc.reason}"
            ) from None
        return parse_card(text)
    return parse_card(card)


def check_request(
    name: str,
    *,
    alias: str | None,
    tags: Iterable[str],
    card: str | Path | ModelCard | None,
    task: str | None,
    license: str | None,
) -> PublishRequest:
    """Step 1: every argument checked (InvalidInput naming the bad one); nothing written."""
    check_model_name(name)
    if alias is not None:
        check_alias_name(alias)
    checked_tags = tuple(check_tag(t) for t in tags)
    parsed = read_card(card)
    serving = parsed.metadata.get("serving")
    options = None
    if serving is not None:
        options = ServingOptions.decode(serving, "card front matter 'serving'")
    check_front_matter(parsed.metadata, "card")
    card_tags = tuple(check_tag(t) for t in parsed.tags)
    resolved = canonical_task(task, "--task") or canonical_task(
        parsed.task, "card front matter task"
    )
    return PublishRequest(
        name=name,
        alias=alias,
        tags=checked_tags + card_tags,
        card=parsed,
        task=resolved,
        license=license or parsed.license,
        serving=options,
    )


def require_parity(checked: CheckedExport, name: str, allow_failure: bool) -> None:
    """Step 3: ParityFailed (nothing published) unless the report passed or it is allowed."""
    if checked.report.passed or allow_failure:
        return
    raise ParityFailed(
        f"parity check failed for {name!r}; nothing was published "
        f"(override with --allow-parity-failure)\n{checked.report.summary()}",
        checked.report,
    )


def family_task(checked: CheckedExport) -> str | None:
    """The task the family's export (else its card defaults) declares, in the vocabulary;
    a plugin that declares a name outside it is broken (PluginError)."""
    declared = checked.exported.task or checked.card_defaults.get("task")
    try:
        return canonical_task(declared, f"task of family {checked.family!r}")
    except InvalidInput as exc:
        raise PluginError(exc.message) from None


def latent_input(inputs: tuple[TensorSpec, ...], declared: str | None, ref: str) -> str:
    """The input a ``generation`` version's noise goes to, or InvalidInput saying why the
    model cannot be served from ``seed`` and ``num_samples``.

    It is the family's declared latent input, else the model's only input; either way one
    float tensor ``[-1, d]`` with ``d`` fixed (the server draws ``num_samples x d`` noise).
    """
    name = declared or (inputs[0].name if len(inputs) == 1 else None)
    if name is None or len(inputs) != 1:
        listed = ", ".join(f"{s.name} {list(s.shape)}" for s in inputs) or "none"
        raise InvalidInput(
            f"{ref}: task 'generation' needs exactly one input, the latent noise; the model has "
            f"{listed}; publish it with another task"
        )
    spec = inputs[0]
    shape_ok = len(spec.shape) == 2 and spec.shape[0] == -1 and spec.shape[1] > 0
    if spec.name != name or spec.datatype not in FLOAT_DATATYPES or not shape_ok:
        raise InvalidInput(
            f"{ref}: task 'generation' needs one float input [-1, d] with a fixed width d (the "
            f"latent noise drawn from seed and num_samples); input {spec.name!r} is "
            f"{spec.datatype} {list(spec.shape)}; publish it with another task"
        )
    return name


def catalog_entry(request: PublishRequest, checked: CheckedExport) -> CatalogEntry:
    """Step 4: task, tags, licence and the version's metadata, from request and export."""
    task = request.task or family_task(checked)
    defaults = checked.card_defaults
    tags = [*request.tags, *(check_tag(str(t)) for t in defaults.get("tags", []))]
    extra: dict[str, Any] = {
        "library": defaults.get("library", checked.framework),
        "label_outputs": list(checked.exported.label_outputs),
        **checked.exported.metadata,
    }
    if task == GENERATION:
        extra["latent_input"] = latent_input(
            checked.inputs, checked.exported.latent_input, request.name
        )
    elif checked.exported.latent_input:
        extra["latent_input"] = checked.exported.latent_input
    if request.serving is not None:
        extra["serving"] = request.serving.as_dict()
    if checked.test_data is not None and checked.exported.metadata.get("sample") == "synthetic":
        extra.setdefault("test_data", "synthetic inputs (no sample was given)")
    return CatalogEntry(
        task=task, tags=tuple(dict.fromkeys(tags)), license=request.license, extra=extra
    )


def version_fields(
    entry: CatalogEntry,
    checked: CheckedExport,
    *,
    sha256: str,
    size: int,
    test_data_sha256: str | None,
) -> dict[str, Any]:
    """The columns of the new version row."""
    return {
        "family": checked.family,
        "framework": checked.framework,
        "framework_version": checked.exported.framework_version,
        "opset": checked.opset,
        "ir_version": checked.ir_version,
        "inputs": [t.to_json() for t in checked.inputs],
        "outputs": [t.to_json() for t in checked.outputs],
        "sha256": sha256,
        "size": size,
        "parity": checked.report.to_json(),
        "test_data_sha256": test_data_sha256,
        "task": entry.task,
        "extra": entry.extra,
    }


__all__ = [
    "CatalogEntry",
    "PublishRequest",
    "catalog_entry",
    "check_request",
    "family_task",
    "latent_input",
    "read_card",
    "require_parity",
    "version_fields",
]
