"""What a test run leaves in the repository: untracked files, and new folders (git does not list
a folder holding no file, such as the ``file:`` tree a SQLite URI once left behind).

Used by ``tests/conftest.py``: a run that leaves anything fails, listing it. Tests write under
their ``tmp_path`` only.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Folders never looked into: git's own, environments and caches that .gitignore names.
SKIPPED = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
}


def untracked_files(root: Path = ROOT) -> set[str]:
    """Files git sees as untracked and not ignored (relative paths)."""
    result = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return set(result.stdout.splitlines()) if result.returncode == 0 else set()


def folders(root: Path = ROOT) -> set[str]:
    """Every folder of the working tree but the skipped ones (relative paths)."""
    found: set[str] = set()
    for current, names, _ in os.walk(root):
        names[:] = [n for n in names if n not in SKIPPED and not n.endswith(".egg-info")]
        found.update(os.path.relpath(os.path.join(current, n), root) for n in names)
    return found


def snapshot(root: Path = ROOT) -> tuple[set[str], set[str]]:
    return untracked_files(root), folders(root)


def left_behind(before: tuple[set[str], set[str]], root: Path = ROOT) -> list[str]:
    """Paths present now that were not before the run (new untracked files, new folders)."""
    files, dirs = snapshot(root)
    new_dirs = dirs - before[1]
    # a new folder holding new untracked files is reported through its files
    bare = {
        d
        for d in new_dirs
        if os.path.dirname(d) not in new_dirs and not any(f.startswith(d + os.sep) for f in files)
    }
    return sorted((files - before[0]) | bare)
