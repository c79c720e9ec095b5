"""Which asyncio event loop ``onnxhub serve`` runs on (``ONNXHUB_EVENT_LOOP``).

``auto`` uses uvloop when it is installed (``pip install onnxhub[uvloop]``), the standard
asyncio loop otherwise; ``uvloop`` insists on it (an error naming the extra when it is
missing); ``asyncio`` keeps the standard loop. ``bench/http_floor.py`` chooses its loop here
too, so the floor and the server it is compared with always run the same loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from typing import Any, Callable, Coroutine, Literal, TypeVar

from hub.errors import InvalidInput

Choice = Literal["auto", "uvloop", "asyncio"]
T = TypeVar("T")
log = logging.getLogger(__name__)


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def resolve(choice: str) -> str:
    """``"uvloop"`` or ``"asyncio"``: the loop ``choice`` means on this installation.

    Raises :class:`InvalidInput` for ``uvloop`` when it is not installed, or an unknown choice.
    """
    if choice == "asyncio":
        return "asyncio"
    if choice == "auto":
        return "uvloop" if uvloop_installed() else "asyncio"
    if choice == "uvloop":
        if not uvloop_installed():
            raise InvalidInput(
                "ONNXHUB_EVENT_LOOP=uvloop but uvloop is not installed "
                "(pip install 'onnxhub[uvloop]')"
            )
        return "uvloop"
    raise InvalidInput(f"ONNXHUB_EVENT_LOOP={choice!r}: expected 'auto', 'uvloop' or 'asyncio'")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A function making a new loop of the kind ``choice`` resolves to."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` resolves to."""
    log.info("event loop: %s", resolve(choice))
    factory = loop_factory(choice)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    loop = factory()  # Python 3.10 has no asyncio.Runner: what it does, by hand
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
