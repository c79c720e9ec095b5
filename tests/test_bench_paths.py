"""Issue 9 item 18: the benchmarks find their helpers relative to the repository, not at one
machine's absolute paths."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABSOLUTE = re.compile(r"(?<![\w.])/(?:work|home|root|Users)/")


def test_bench_scripts_and_readme_use_no_machine_paths() -> None:
    files = [*ROOT.glob("bench/**/*.sh"), *ROOT.glob("bench/**/*.py"), ROOT / "bench/README.md"]
    assert files
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not ABSOLUTE.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def test_peers_harness_default_is_beside_the_repository() -> None:
    script = (ROOT / "bench/run.sh").read_text(encoding="utf-8")
    assert 'PEERS_DIR="${PEERS_DIR:-$REPO/../shared/peers}"' in script
