"""Settings: built once from the environment, then passed down explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from hub.errors import InvalidInput


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative, got {value}")
    return value


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a hub, read from ``ONNXHUB_*`` variables.

    ``home`` holds the default SQLite catalog and artifact folder. ``database_url`` is any
    SQLAlchemy URL (SQLite or PostgreSQL). Serving knobs are used by ``onnxhub serve``.
    """

    home: Path
    database_url: str
    artifacts: Path
    owner: str = "local"
    parity_atol: float = 1e-4
    parity_rtol: float = 1e-3
    parity_max_label_mismatch: float = 0.0
    providers: tuple[str, ...] | None = None
    max_request_bytes: int = 64 * 1024 * 1024
    max_loaded_bytes: int = 2 * 1024 * 1024 * 1024
    max_loaded_models: int = 32
    max_batch_size: int = 64
    max_batch_time: float = 0.002
    max_queue: int = 1024
    run_concurrency: int = 1
    intra_op_threads: int = 0
    event_poll_interval: float = 0.25
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        home = Path(env.get("ONNXHUB_HOME") or Path.home() / ".onnxhub").expanduser()
        database_url = env.get("ONNXHUB_DATABASE_URL") or f"sqlite:///{home / 'catalog.db'}"
        artifacts = Path(env.get("ONNXHUB_ARTIFACTS") or home / "artifacts").expanduser()
        providers_raw = env.get("ONNXHUB_PROVIDERS")
        providers = (
            tuple(p.strip() for p in providers_raw.split(",") if p.strip())
            if providers_raw
            else None
        )
        return cls(
            home=home,
            database_url=database_url,
            artifacts=artifacts,
            owner=env.get("ONNXHUB_OWNER") or "local",
            parity_atol=_float_env(env, "ONNXHUB_PARITY_ATOL", 1e-4),
            parity_rtol=_float_env(env, "ONNXHUB_PARITY_RTOL", 1e-3),
            parity_max_label_mismatch=_float_env(env, "ONNXHUB_PARITY_MAX_LABEL_MISMATCH", 0.0),
            providers=providers,
            max_request_bytes=_int_env(env, "ONNXHUB_MAX_REQUEST_BYTES", 64 * 1024 * 1024),
            max_loaded_bytes=_int_env(env, "ONNXHUB_MAX_LOADED_BYTES", 2 * 1024 * 1024 * 1024),
            max_loaded_models=_int_env(env, "ONNXHUB_MAX_LOADED_MODELS", 32),
            max_batch_size=_int_env(env, "ONNXHUB_MAX_BATCH_SIZE", 64),
            max_batch_time=_float_env(env, "ONNXHUB_MAX_BATCH_TIME", 0.002),
            max_queue=_int_env(env, "ONNXHUB_MAX_QUEUE", 1024),
            run_concurrency=max(1, _int_env(env, "ONNXHUB_RUN_CONCURRENCY", 1)),
            intra_op_threads=_int_env(env, "ONNXHUB_INTRA_OP_THREADS", 0),
            event_poll_interval=_float_env(env, "ONNXHUB_EVENT_POLL_INTERVAL", 0.25),
        )

    @classmethod
    def for_home(cls, home: Path | str, **overrides: object) -> "Settings":
        """Settings rooted at ``home`` with defaults, ignoring the environment (tests, demo)."""
        home = Path(home)
        base = cls.from_env({"ONNXHUB_HOME": str(home)})
        from dataclasses import replace

        return replace(base, **overrides)  # type: ignore[arg-type]
