"""Authentication and model access on every route of the server.

:func:`check_access` (run for every request by :mod:`hub.server.front`; ``install_auth(app,
mode)`` sets up its gate) resolves ``Authorization: Bearer <token>`` into a
:class:`~hub.catalog.accounts.Principal` (``request[PRINCIPAL]``) and enforces:

- ``mode="public-read"`` (default, ``ONNXHUB_AUTH``): anonymous callers may read and infer on
  public models; ``mode="required"``: every route but ``/v2/health/*`` needs a valid token.
- A token that is present but malformed, unknown, revoked or expired is always 401 (with
  ``WWW-Authenticate: Bearer``), so a client learns at once that its token is bad.
- V2 routes naming a model (metadata, ready, infer) need read access, the repository's
  ``load``/``unload`` need write access: a private model is the same 404 as an unknown one.
- ``filter_*`` helpers drop what the caller may not see from ``/v2/repository/index``,
  ``/v2/events`` and ``/metrics``.

Model access records are cached per model and dropped when a catalog event names the model
(the same event log the runtime follows), and after ``ACCESS_TTL`` seconds at most.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web

from hub.catalog import access
from hub.catalog.accounts import ANONYMOUS, Principal
from hub.catalog.sharing import CatalogService
from hub.errors import InvalidInput, NotFound, Unauthorized, Unavailable
from hub.settings import Settings

AUTH_MODES = ("public-read", "required")
ACCESS_TTL = 5.0
#: Events after which a model's access record may have changed.
ACCESS_EVENTS = ("model.", "collaborator.")

PRINCIPAL = web.RequestKey("onnxhub_principal", Principal)


class AuthGate:
    """Resolves tokens and model access for one app; blocking calls go to its own executor."""

    def __init__(self, service: CatalogService, mode: str) -> None:
        if mode not in AUTH_MODES:
            raise InvalidInput(f"ONNXHUB_AUTH must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
        self.service = service
        self.mode = mode
        self._executor: ThreadPoolExecutor | None = None
        self._access: dict[str, tuple[float, access.ModelAccess | None]] = {}

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("the auth gate is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="onnxhub-auth")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def forget(self, model: str | None = None) -> None:
        """Drop cached access for ``model`` (all models when None)."""
        if model is None:
            self._access.clear()
        else:
            self._access.pop(model, None)

    def cached_access(self, name: str) -> tuple[float, access.ModelAccess | None] | None:
        """``name``'s cached (time, access) while younger than ``ACCESS_TTL``, else None."""
        cached = self._access.get(name)
        if cached is not None and time.monotonic() - cached[0] < ACCESS_TTL:
            return cached
        return None

    async def model_access(self, name: str) -> access.ModelAccess | None:
        fresh = self.cached_access(name)
        if fresh is not None:
            return fresh[1]
        cached = self._access.get(name)
        now = time.monotonic()
        try:
            record = await self.call(self.service.model_access, name)
        except Unavailable:
            if cached is None:
                raise
            return cached[1]  # the catalog is down: the last known access keeps models serving
        self._access[name] = (now, record)  # None too: a later model.created event drops it
        return record

    def readable_now(self, principal: Principal, name: str) -> bool | None:
        """Whether ``principal`` may read ``name`` by its cached access record (an unknown
        model is readable: its routes answer 404 themselves); None when no record is fresh."""
        fresh = self.cached_access(name)
        return None if fresh is None else _readable(fresh[1], principal)

    async def may_read(self, principal: Principal, name: str | None) -> bool:
        if not name:
            return True
        readable = self.readable_now(principal, name)  # the common case, without a coroutine
        if readable is None:
            readable = _readable(await self.model_access(name), principal)
        return readable


def _readable(record: access.ModelAccess | None, principal: Principal) -> bool:
    return record is None or access.can_read(record, principal)


AUTH_GATE = web.AppKey("auth_gate", AuthGate)
AUTH_MODE = web.AppKey("auth_mode", str)


def auth_mode_from_env(env: dict[str, str] | None = None) -> str:
    """``ONNXHUB_AUTH`` (declared in :class:`hub.settings.Settings`; ``public-read`` when unset)."""
    return Settings.from_env(env).auth


def principal_of(request: web.Request) -> Principal:
    return request.get(PRINCIPAL, ANONYMOUS)


_BEARER = re.compile(r"^Bearer[ ]+(\S+)[ ]*$", re.IGNORECASE)
#: The challenge every 401 carries (RFC 6750).
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="onnxhub"'}


async def _principal(header: str, gate: AuthGate) -> Principal:
    match = _BEARER.match(header)
    if match is None:
        raise Unauthorized("malformed Authorization header: expected 'Bearer <token>'")
    return await gate.call(gate.service.authenticate, match.group(1))


def _route_path(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


def check_access(request: web.Request) -> Awaitable[None] | None:
    """Resolve the caller into ``request[PRINCIPAL]`` and check its access to the model the
    route names. None when that was decided at once, as for an anonymous caller of a model
    whose access is cached (no coroutine on the hot path); otherwise the awaitable that
    decides it. Raises (or the awaitable raises) Unauthorized (401), NotFound (404: no read
    access, the same answer as an unknown model) or Forbidden (403)."""
    if request.path.startswith("/v2/health/"):
        return None
    gate = request.app[AUTH_GATE]
    header = request.headers.get("Authorization")
    if header is not None:
        return _check_token(request, gate, header)
    if gate.mode == "required":
        raise Unauthorized("this server requires a token (Authorization: Bearer ...)")
    request[PRINCIPAL] = ANONYMOUS
    return _check_model(request, gate, ANONYMOUS)


async def _check_token(request: web.Request, gate: AuthGate, header: str) -> None:
    principal = await _principal(header, gate)
    request[PRINCIPAL] = principal
    pending = _check_model(request, gate, principal)
    if pending is not None:
        await pending


def _check_model(
    request: web.Request, gate: AuthGate, principal: Principal
) -> Awaitable[None] | None:
    name = request.match_info.get("model")
    if name is None:
        return None
    route = _route_path(request)
    if route.startswith("/v2/repository/models/"):
        return _check_write(gate, principal, name)
    if route.startswith("/v2/models/"):
        readable = gate.readable_now(principal, name)
        if readable is None:
            return _check_read(gate, principal, name)
        if not readable:
            raise access.unknown_model(name)
    return None


async def _check_write(gate: AuthGate, principal: Principal, name: str) -> None:
    fresh = await gate.call(gate.service.model_access, name)  # never the read cache
    access.check_write(fresh, principal, name)


async def _check_read(gate: AuthGate, principal: Principal, name: str) -> None:
    if not await gate.may_read(principal, name):
        raise access.unknown_model(name)


async def filter_index(request: web.Request, entries: list[dict[str, Any]]) -> list[dict]:
    """Repository index entries the caller may see."""
    gate, principal = request.app[AUTH_GATE], principal_of(request)
    return [e for e in entries if await gate.may_read(principal, e.get("name"))]


async def may_see_event(request: web.Request, event: dict[str, Any]) -> bool:
    """Whether an SSE event (catalog or runtime) concerns a model the caller may see."""
    gate = request.app[AUTH_GATE]
    if str(event.get("kind", "")).startswith(ACCESS_EVENTS) and event.get("source") != "runtime":
        gate.forget(event.get("model"))  # judge it by the access it brought, not a cached one
    return await gate.may_read(principal_of(request), event.get("model"))


_MODEL_LABEL = re.compile(r'[{,]model="((?:[^"\\]|\\.)*)"')


async def filter_metrics(request: web.Request, body: bytes) -> bytes:
    """Prometheus text without the samples labelled with a model the caller may not see."""
    gate, principal = request.app[AUTH_GATE], principal_of(request)
    hidden: dict[str, bool] = {}
    lines = []
    for line in body.decode("utf-8").splitlines(keepends=True):
        match = _MODEL_LABEL.search(line) if not line.startswith("#") else None
        if match is not None:
            name = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
            if name not in hidden:
                hidden[name] = not await gate.may_read(principal, name)
            if hidden[name]:
                continue
        lines.append(line)
    return "".join(lines).encode("utf-8")


async def _forget_on_events(app: web.Application, queue: asyncio.Queue) -> None:
    gate = app[AUTH_GATE]
    while True:
        event = await queue.get()
        if event is None:
            return
        kind = str(event.get("kind", ""))
        # Catalog changes only: the runtime's model.loaded/swapped change nobody's access.
        if kind.startswith(ACCESS_EVENTS) and event.get("source") != "runtime":
            gate.forget(event.get("model"))


def _auth_context(
    broadcaster_key: Any,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        from hub.server.keys import HUB

        gate = app[AUTH_GATE] = AuthGate(CatalogService(app[HUB]), app[AUTH_MODE])
        gate.start()
        broadcaster = app[broadcaster_key]
        queue = broadcaster.subscribe()
        task = asyncio.get_running_loop().create_task(
            _forget_on_events(app, queue), name="onnxhub-auth-events"
        )
        try:
            yield
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            broadcaster.unsubscribe(queue)
            gate.close()

    return context


def install_auth(app: web.Application, mode: str | None = None) -> None:
    """Add the auth gate's lifecycle to ``app`` (before it starts; :mod:`hub.server.front` runs
    :func:`check_access`).

    ``mode`` is ``public-read`` or ``required`` (default: ``ONNXHUB_AUTH``, else public-read);
    a wrong value is InvalidInput at once, not at the first request.
    """
    from hub.server.keys import BROADCASTER

    mode = mode or auth_mode_from_env()
    if mode not in AUTH_MODES:
        raise InvalidInput(f"ONNXHUB_AUTH must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
    app[AUTH_MODE] = mode
    app.cleanup_ctx.append(_auth_context(BROADCASTER))


async def not_found_unless_readable(request: web.Request, name: str) -> None:
    """Raise the unknown-model 404 when the caller may not see ``name``."""
    if not await request.app[AUTH_GATE].may_read(principal_of(request), name):
        raise NotFound(f"unknown model {name!r}")
