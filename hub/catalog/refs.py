"""Names and references: the one parser every entry point uses (CLI, Python API, server, HTTP).

A *reference* picks one version of a model:

* ``None`` (or nothing written): the ``production`` alias if set, else the latest version;
* a version number: ASCII digits only (``"3"``, ``3``), from 1 to :data:`MAX_VERSION` (the
  catalog stores version numbers as SQL ``INTEGER``, 32-bit on PostgreSQL);
* anything else is an alias name, checked by the alias rules (:data:`ALIAS_NAME`).

Whatever fits none of these raises :class:`~hub.errors.InvalidInput` (HTTP 400, exit 2) with
one line, so ``iris:99999999999999999999`` or ``/versions/٣`` never reaches the database.
This module imports nothing heavy: the CLI parses references before it opens a catalog.
"""

from __future__ import annotations

import re

from hub.errors import InvalidInput

#: Largest version number the catalog can store (SQL INTEGER on PostgreSQL).
MAX_VERSION = 2**31 - 1

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
ALIAS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}")
_ASCII_DIGITS = re.compile(r"[0-9]+")

Ref = int | str | None


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else InvalidInput saying what is allowed."""
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_alias_name(alias: str) -> str:
    """Aliases start with a letter, so ``NAME:3`` and ``NAME@prod`` never collide."""
    if not isinstance(alias, str) or not ALIAS_NAME.fullmatch(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: start with a letter; then letters, digits, '.', '_', '-'"
        )
    return alias


def check_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else InvalidInput."""
    if not isinstance(tag, str) or not TAG_NAME.fullmatch(tag):
        raise InvalidInput(f"invalid tag {tag!r}: letters, digits and '_.:+-' only")
    return tag


def check_version_number(number: int) -> int:
    """``number`` if it is a version number the catalog can hold (1..MAX_VERSION)."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput(f"a version number is an integer, not {number!r}")
    if not 1 <= number <= MAX_VERSION:
        raise InvalidInput(
            f"version number {number} is out of range (versions are 1 to {MAX_VERSION})"
        )
    return number


def parse_ref(ref: Ref) -> Ref:
    """A reference as ``None``, a version number (int) or an alias name (str).

    ``"7"`` and ``7`` give 7; ``"production"`` stays a string; ``"0"``, ``"-1"``, ``"1.5"``,
    ``"٣"`` (non-ASCII digits), ``""`` and numbers beyond :data:`MAX_VERSION` raise InvalidInput.
    """
    if ref is None:
        return None
    if isinstance(ref, int) and not isinstance(ref, bool):
        return check_version_number(ref)
    if not isinstance(ref, str):
        raise InvalidInput(f"a version reference is a number or an alias, not {ref!r}")
    if _ASCII_DIGITS.fullmatch(ref):
        if len(ref) > 40:  # never int() of a megabyte of digits, nor echo it back
            raise InvalidInput(
                f"version number {ref[:20]}... is out of range (versions are 1 to {MAX_VERSION})"
            )
        return check_version_number(int(ref))
    if not ALIAS_NAME.fullmatch(ref):
        shown = ref if len(ref) <= 60 else ref[:60] + "..."
        raise InvalidInput(
            f"invalid version reference {shown!r}: a version number (1 to {MAX_VERSION}) or an "
            "alias (a letter, then letters, digits, '.', '_', '-')"
        )
    return ref


def parse_version_number(ref: int | str) -> int:
    """A reference that must be a version number (e.g. where an alias should point)."""
    parsed = parse_ref(ref)
    if not isinstance(parsed, int):
        raise InvalidInput(f"an alias points at a version number, not {ref!r}")
    return parsed


def split_ref(text: str) -> tuple[str, Ref]:
    """``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` as (name, reference)."""
    if "@" in text:
        name, _, alias = text.partition("@")
        if not alias:
            raise InvalidInput(f"{text!r}: an alias is missing after '@'")
        parsed = parse_ref(alias)
        if not isinstance(parsed, str):
            raise InvalidInput(
                f"{text!r}: after '@' comes an alias; write NAME:{alias} for a number"
            )
        return check_model_name(name), parsed
    if ":" in text:
        name, _, version = text.partition(":")
        if not _ASCII_DIGITS.fullmatch(version):
            raise InvalidInput(f"{text!r}: the version after ':' must be a positive integer")
        return check_model_name(name), parse_ref(version)
    return check_model_name(text), None
