"""PostgreSQL ``NOTIFY`` for the event log, sent in the transaction that writes the event row.

PostgreSQL delivers a notification only when its transaction commits, so a listener is never
woken for an event it cannot read yet, and a rolled-back change wakes nobody. A notification
is only a wake-up: followers still read every event after their last seen id.

On PostgreSQL the event writers also take a transaction-scoped advisory lock before inserting
their row. Event ids come from a sequence, and without the lock two transactions could commit
ids 11 then 10: a follower that had already read 11 would never read 10. Holding the lock from
the insert to the commit makes ids become visible in order. SQLite needs neither (its writers
are already serialised by ``BEGIN IMMEDIATE``; followers poll).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

#: The channel followers ``LISTEN`` on; the payload is the event's model name.
EVENTS_CHANNEL = "onnxhub_events"
#: Advisory lock serialising event-log writers ("onnxevnt" in ASCII).
EVENTS_LOCK_KEY = 0x6F6E6E7865766E74


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def before_event_insert(session: Session) -> None:
    """Take the event-order lock (PostgreSQL; held until the transaction ends)."""
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK_KEY})


def announce_event(session: Session, model: str) -> None:
    """Queue a NOTIFY on :data:`EVENTS_CHANNEL`, delivered at commit (PostgreSQL only)."""
    if is_postgresql(session):
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": EVENTS_CHANNEL, "payload": model[:200]},
        )
