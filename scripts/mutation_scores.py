"""Prints the mutation score of each mutated module, from `mutmut results --all true`.

`make mutate` runs it last, so the table is the last thing on the screen: per module the
mutants, how many the tests killed (a timeout counts as killed: the mutant hung the code), how
many survived or had no test, and the score. Mutants `make mutate` left out of its scope (those
of cache_key.py outside the digest's parts) are "not checked" and not counted. Surviving mutants are each killed by a new test or
listed with their reason in tests/MUTANTS.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "segfault"}
LINE = re.compile(r"^\s*(?P<module>[\w.]+?)\.x.*__mutmut_\d+: (?P<status>.+)$")


def read_results() -> dict[str, Counter[str]]:
    """Each mutated module's mutants counted by mutmut's verdict."""
    mutmut = Path(sys.executable).with_name("mutmut")
    output = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            counts[match["module"]][match["status"].strip()] += 1
    return counts


def main() -> int:
    counts = read_results()
    if not counts:
        print("mutation: no results (did `mutmut run` run?)")
        return 1
    print(f"{'module':<34}{'mutants':>8}{'killed':>8}{'survived':>10}{'no test':>9}{'score':>8}")
    totals: Counter[str] = Counter()
    for module, statuses in sorted(counts.items()):
        totals.update(statuses)
        print(_row(module, statuses))
    print(_row("all", totals))
    return 0


def _row(name: str, statuses: Counter[str]) -> str:
    total = sum(statuses.values()) - statuses["not checked"]
    killed = sum(statuses[s] for s in KILLED)
    judged = total - statuses["skipped"]
    score = f"{100 * killed / judged:.1f}%" if judged else "-"
    return (
        f"{name:<34}{total:>8}{killed:>8}{statuses['survived']:>10}"
        f"{statuses['no tests']:>9}{score:>8}"
    )


if __name__ == "__main__":
    sys.exit(main())
