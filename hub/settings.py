"""Settings: declared once, built once from the environment, then passed down explicitly.

Every setting is one field of :class:`Settings`: its attribute name gives the variable
(``max_queue`` is ``ONNXHUB_MAX_QUEUE``), its annotation the type and limits (msgspec
``Meta``), :func:`setting` the default and the help text. msgspec parses the variables; the
README's table is generated from the same fields (``python -m hub.settings --markdown``).

To add a setting, add one field, e.g.::

    max_upload_bytes: Annotated[int, Meta(ge=1)] = setting(
        256 * 1024 * 1024, "upload body limit (413 beyond)", shown="256 MiB"
    )

then regenerate the README's table (``python -m hub.settings --update README.md``);
``tests/test_settings.py`` fails until it is in sync.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping

import msgspec
from msgspec import Meta

from hub.errors import InvalidInput

#: Every variable is this prefix followed by the attribute name in upper case.
ENV_PREFIX = "ONNXHUB_"

PositiveInt = Annotated[int, Meta(ge=1)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
NonNegativeFloat = Annotated[float, Meta(ge=0.0)]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]


class ServingOptions(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Per-model serving knobs; a field left ``None`` keeps the value from the level below.

    Levels, lowest first: the ``ONNXHUB_*`` settings, a version's card ``serving:`` block
    (validated at publish), then ``ONNXHUB_MODEL_OPTIONS`` for the model's name.
    """

    max_batch_size: PositiveInt | None = None  # rows per onnxruntime run
    max_batch_time: NonNegativeFloat | None = None  # seconds a partial batch may wait
    max_queue: PositiveInt | None = None  # queued requests before 503 + Retry-After
    run_concurrency: PositiveInt | None = None  # concurrent onnxruntime runs of this model
    run_timeout: NonNegativeFloat | None = None  # seconds per run before it is terminated

    @classmethod
    def decode(cls, value: Any, where: str) -> "ServingOptions":
        """Validate a mapping (a card's ``serving:`` block, one entry of the variable).

        Raises :class:`InvalidInput` naming ``where`` and the bad field, in one line.
        """
        try:
            return msgspec.convert(value, cls)
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"{where}: {_located(exc)}") from None

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, as plain JSON values (how a version stores them)."""
        return msgspec.to_builtins(self)


def decode_model_options(raw: str, name: str = "ONNXHUB_MODEL_OPTIONS") -> dict[str, Any]:
    """``{"iris": {"max_batch_size": 8}}`` (JSON) as a map of model name to ServingOptions.

    Raises :class:`InvalidInput` naming the variable, the model and the field.
    """
    try:
        parsed = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(f"{name} must be a JSON object of model name -> options")
    return {model: ServingOptions.decode(v, f"{name}[{model!r}]") for model, v in parsed.items()}


def _located(exc: msgspec.ValidationError) -> str:
    """msgspec's "Expected `int` >= 1 - at `$.max_queue`" as "max_queue: expected `int` >= 1"."""
    message, _, where = str(exc).partition(" - at `$")
    where = where.rstrip("`").lstrip(".")
    message = message[:1].lower() + message[1:]
    return f"{where}: {message}" if where else message


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    shown: str | None = None,
    factory: Callable[[], Any] | None = None,
    derive: Callable[[dict[str, Any]], Any] | None = None,
    parse: Callable[[str, str], Any] | None = None,
    secret: bool = False,
) -> Any:
    """Declare one setting (a dataclass field of :class:`Settings`).

    ``default``/``factory``: the value when the variable is unset or empty; ``derive``: for
    a setting whose default depends on settings declared above it (given their values);
    ``shown``: the default as the README writes it (else ``repr``-like); ``parse``: for a
    value that is not a scalar or a comma-separated list (given the raw text and the
    variable's name); ``secret``: kept out of ``repr`` (logs, tracebacks). Fields with
    ``derive`` have no dataclass default, so they come first.
    """
    metadata = {"help": help, "shown": shown, "derive": derive, "parse": parse}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata, repr=not secret)
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a hub, read from ``ONNXHUB_*`` variables.

    Build it once (:meth:`from_env`, or :meth:`for_home` in tests) and pass it down.
    """

    home: Path = setting(
        help="home of the default catalog and artifacts",
        derive=lambda _v: Path.home() / ".onnxhub",
        shown="`~/.onnxhub`",
    )
    database_url: str = setting(
        help="any SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db`",
        derive=lambda v: f"sqlite:///{v['home'] / 'catalog.db'}",
        shown="`sqlite:///$ONNXHUB_HOME/catalog.db`",
    )
    artifacts: Path | str = setting(
        help="artifact store: a folder, or any fsspec URL such as `s3://bucket/prefix` (S3 "
        "through s3fs and the standard `AWS_*` variables; each process keeps a verified cache "
        "in `$ONNXHUB_HOME/artifact-cache`)",
        derive=lambda v: v["home"] / "artifacts",
        shown="`$ONNXHUB_HOME/artifacts`",
        parse=lambda raw, _name: raw if "://" in raw else Path(raw).expanduser(),
    )
    parity_atol: NonNegativeFloat = setting(
        1e-4, "parity: absolute error allowed (`|onnx - fw| <= atol + rtol * |fw|`)"
    )
    parity_rtol: NonNegativeFloat = setting(1e-3, "parity: relative error allowed")
    parity_max_label_mismatch: Fraction = setting(
        0.0, "parity: fraction of rows whose class label may differ"
    )
    providers: tuple[str, ...] | None = setting(
        None,
        "onnxruntime execution providers, comma-separated, e.g. `CPUExecutionProvider`",
        shown="auto (CUDA when it really works, else CPU)",
    )
    max_request_bytes: NonNegativeInt = setting(
        64 * 1024 * 1024, "request body limit (413 beyond)", shown="64 MiB"
    )
    max_loaded_bytes: NonNegativeInt = setting(
        2 * 1024 * 1024 * 1024,
        "residency budget in model bytes, least recently used evicted",
        shown="2 GiB",
    )
    max_loaded_models: NonNegativeInt = setting(32, "residency budget in models")
    max_batch_size: PositiveInt = setting(64, "adaptive batching: rows per onnxruntime run")
    max_batch_time: NonNegativeFloat = setting(
        0.002, "adaptive batching: seconds a partial batch may wait while runs are busy"
    )
    max_queue: PositiveInt = setting(1024, "per-model queue; beyond it 503 with `Retry-After`")
    run_concurrency: PositiveInt = setting(1, "concurrent onnxruntime runs per model")
    inline_runs: Literal["auto", "off"] = setting(
        "auto",
        "`auto`: a model whose runs, timed at load, cost less than the hand-off to its worker "
        "thread runs small batches on the event loop; `off`: every run goes to its thread",
    )
    model_options: dict[str, ServingOptions] = setting(
        factory=dict,
        help="per-model serving knobs as JSON, e.g. "
        '`{"iris": {"max_batch_size": 8, "run_concurrency": 2}}` (fields: '
        + ", ".join(f"`{f}`" for f in ServingOptions.__struct_fields__)
        + "); a card's front matter `serving:` block sets the same per version",
        shown="none",
        parse=decode_model_options,
    )
    intra_op_threads: NonNegativeInt = setting(
        0, "onnxruntime threads per session", shown="0 (onnxruntime's choice)"
    )
    event_poll_interval: NonNegativeFloat = setting(
        0.25, "seconds between the server's reads of the event log"
    )
    max_response_bytes: PositiveInt = setting(
        64 * 1024 * 1024, "inference response body limit (400 beyond)", shown="64 MiB"
    )
    max_request_elements: PositiveInt = setting(
        16 * 1024 * 1024,
        "tensor elements one inference request may declare, all inputs together (400 beyond)",
        shown="16 Mi",
    )
    offload_bytes: NonNegativeInt = setting(
        256 * 1024,
        "bodies at least this large are decoded and encoded off the event loop",
        shown="256 KiB",
    )
    header_timeout: NonNegativeFloat = setting(
        10.0, "seconds a connection may take to send a request's headers (0: no limit)"
    )
    body_timeout: NonNegativeFloat = setting(
        60.0, "seconds a request may take to send its body (408 beyond; 0: no limit)"
    )
    keepalive_timeout: NonNegativeFloat = setting(
        75.0, "seconds an idle keep-alive connection stays open"
    )
    max_connections: PositiveInt = setting(
        512,
        "open connections; a new one beyond it closes the oldest that has not sent a whole "
        "request yet (else the oldest idle one), or is answered 503 when all are busy",
    )
    run_timeout: NonNegativeFloat = setting(
        60.0,
        "seconds one onnxruntime run may take before it is terminated (504; 0: no limit); "
        "per model: `run_timeout` in the serving options",
    )
    warmup_timeout: NonNegativeFloat = setting(
        30.0, "seconds a model's warm-up run may take when it is loaded (0: no limit)"
    )
    parity_timeout: NonNegativeFloat = setting(
        300.0, "seconds each onnxruntime run of `publish` (parity, checks) may take (0: no limit)"
    )
    workers: NonNegativeInt = setting(
        0,
        "processes of `onnxhub serve` sharing its port (`SO_REUSEPORT`), each with its own "
        "runtime; `/metrics` labels each worker's series `worker`",
        shown="0 (the usable cores, at most 8)",
    )
    event_loop: Literal["auto", "uvloop", "asyncio"] = setting(
        "auto",
        "event loop of `onnxhub serve`: `auto` uses uvloop when installed "
        "(`onnxhub[uvloop]`), else asyncio's",
    )
    drain_timeout: NonNegativeFloat = setting(
        10.0,
        "seconds unload and shutdown let runs in flight finish before terminating them",
    )
    allowed_hosts: tuple[str, ...] = setting(
        (),
        "`Host` names the server answers (403 otherwise), comma-separated (`*`: any); empty: "
        "any, except on connections to a loopback address, which must name `localhost`, "
        "`127.0.0.1` or `::1` (DNS rebinding); set it behind a reverse proxy",
        shown="loopback names on loopback",
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        "browser `Origin`s allowed to send state-changing requests (403 otherwise), "
        "comma-separated (e.g. `https://hub.example.com`); the server's own origin always is",
        shown="none",
    )
    auth: Literal["public-read", "required"] = setting(
        "public-read",
        "`public-read`: anonymous callers may read and infer on public models; `required`: "
        "every request needs a token",
    )
    user: str = setting(
        "local",
        "the user local CLI and `Hub` writes act as (publish, aliases, `tokens`, "
        "`collaborators`), created on first use; it owns the models it creates",
    )
    token: str | None = setting(
        None,
        "bearer token for a remote hub (`onnxhub push`/`pull`, `hub.Client`, scoring from a hub "
        "URL); else the one `onnxhub login` stored",
        shown="none",
        secret=True,
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from ``env`` (default: ``os.environ``); unset or empty = default.

        Raises :class:`InvalidInput` naming the variable and its bad value, in one line.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = env_name(f.name)
            raw = env.get(name, "").strip()
            if raw:
                values[f.name] = _parse(f, raw, name)
            elif f.metadata["derive"] is not None:
                values[f.name] = f.metadata["derive"](values)
        return cls(**values)

    @classmethod
    def for_home(cls, home: Path | str, **overrides: Any) -> "Settings":
        """Settings rooted at ``home`` with defaults, ignoring the environment (tests, demo)."""
        base = cls.from_env({env_name("home"): str(home)})
        return dataclasses.replace(base, **overrides)


def env_name(attribute: str) -> str:
    """The variable of a setting: ``max_queue`` -> ``ONNXHUB_MAX_QUEUE``."""
    return ENV_PREFIX + attribute.upper()


def default(attribute: str) -> Any:
    """The declared default of a setting (for code that needs it without a Settings)."""
    f = Settings.__dataclass_fields__[attribute]
    if f.default is dataclasses.MISSING:
        raise KeyError(f"setting {attribute!r} has no fixed default")
    return f.default


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings, include_extras=True)


def _field_type(f: dataclasses.Field[Any]) -> Any:
    return _hints()[f.name]


def _decode_path(kind: type, value: Any) -> Any:
    if kind is Path:
        return Path(value).expanduser()
    raise NotImplementedError(kind)


def _parse(f: dataclasses.Field[Any], raw: str, name: str) -> Any:
    if f.metadata["parse"] is not None:
        return f.metadata["parse"](raw, name)
    kind = _field_type(f)
    value: Any = raw
    if "tuple[" in str(kind) or "list[" in str(kind):
        value = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return msgspec.convert(value, kind, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        if "Literal[" in str(kind):
            choices = " or ".join(repr(v) for v in typing.get_args(kind))
            raise InvalidInput(f"{name}={raw!r}: expected {choices}") from None
        raise InvalidInput(f"{name}={raw!r}: {_located(exc)}") from None


def _shown(f: dataclasses.Field[Any]) -> str:
    if f.metadata["shown"] is not None:
        return str(f.metadata["shown"])
    return f"`{f.default}`"


def _type_name(f: dataclasses.Field[Any]) -> str:
    text = str(_field_type(f))
    if "Literal[" in text:
        return " or ".join(f"`{v}`" for v in typing.get_args(_field_type(f)))
    if f.metadata["parse"] is not None and "Path" not in text:
        return "JSON"
    for word, shown in (("tuple[", "list"), ("Path", "path"), ("float", "number")):
        if word in text:
            return shown
    return "integer" if "int" in text else "text"


def markdown_table() -> str:
    """The README's settings table, one row per setting, generated from the declarations."""
    rows = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        help_text = f.metadata["help"].replace("|", "\\|")
        rows.append(f"| `{env_name(f.name)}` | {_type_name(f)} | {_shown(f)} | {help_text} |")
    return "\n".join(rows) + "\n"


#: The README's generated table sits between these two lines.
TABLE_START = "<!-- settings table: generated by `python -m hub.settings --update README.md` -->"
TABLE_END = "<!-- end of settings table -->"


def with_table(readme: str) -> str:
    """``readme`` with the text between the table markers replaced by :func:`markdown_table`.

    Raises ValueError when the markers are missing.
    """
    head, start, rest = readme.partition(TABLE_START)
    _old, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError(f"the README has no settings table markers ({TABLE_START!r})")
    return f"{head}{TABLE_START}\n{markdown_table()}{TABLE_END}{tail}"


def main(argv: list[str]) -> int:
    """``--markdown``: print the table; ``--update README.md``: rewrite the README's table."""
    if argv == ["--markdown"]:
        sys.stdout.write(markdown_table())
        return 0
    if len(argv) == 2 and argv[0] == "--update":
        path = Path(argv[1])
        path.write_text(with_table(path.read_text()))
        return 0
    sys.stderr.write("usage: python -m hub.settings --markdown | --update README.md\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
