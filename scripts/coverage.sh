#!/bin/sh
# Runs the whole suite under coverage.py (lines and branches) and ends with the two figures.
# Python 3.12+ is used: there jaxexplain records decisions with sys.monitoring, so coverage's
# own trace function and the decision recorder both see every line (on 3.11 both would need
# sys.settrace, and a report then says decisions could not be recorded).
set -eu
python=""
for version in 3.12 3.13; do
  if command -v pyenv >/dev/null 2>&1; then
    installed=$(pyenv versions --bare | grep -E "^$version(\.[0-9]+)?$" | tail -n 1 || true)
    [ -n "$installed" ] && python="$(pyenv root)/versions/$installed/bin/python" && break
  fi
  found=$(command -v "python$version" || true)
  [ -n "$found" ] && python="$found" && break
done
if [ -z "$python" ]; then
  echo "coverage: needs Python 3.12 or 3.13 (pyenv or python3.12 on PATH)" >&2
  exit 2
fi
version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
venv=".venv-$version"
if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e '.[dev,libs]'
  touch "$venv/.installed"
fi
rm -f .coverage
"$venv/bin/python" -m coverage run --branch --source=jaxexplain -m pytest -q "$@" || status=$?
"$venv/bin/python" -m coverage report --skip-covered --sort=cover | tail -n 25
"$venv/bin/python" -m coverage json -q -o .coverage.json
"$venv/bin/python" - <<'PY'
import json
totals = json.load(open(".coverage.json"))["totals"]
lines = 100 * totals["covered_lines"] / max(totals["num_statements"], 1)
branches = 100 * totals["covered_branches"] / max(totals["num_branches"], 1)
print(f"coverage: lines {lines:.1f}% ({totals['covered_lines']}/{totals['num_statements']}), "
      f"branches {branches:.1f}% ({totals['covered_branches']}/{totals['num_branches']})")
PY
exit "${status:-0}"
