#!/bin/sh
# Runs the test suite over a matrix of (Python, JAX) cells, one virtual environment each
# (.venv-py<python>-jax<jax>, made when missing or older than pyproject.toml), and prints one line
# per cell (passed, failed and skipped counts, and time) and a last summary line.
#
#   TEST_ALL_MATRIX  the cells, "python:jax" separated by spaces (default below: the oldest
#                    supported JAX, a mid one, 0.10 and the newest, over Pythons 3.11 to 3.13)
#   TEST_ALL_ARGS    pytest arguments for a subset, e.g. "tests/test_jax_compat.py -x"; the
#                    script's own arguments are added to them (make test-decisions uses that)
#
# A cell whose JAX pip does not offer for that Python (jax 0.12 needs Python 3.12+) is skipped
# with a line that says so. Each cell takes about 8 minutes for the whole suite on 2 cores.
# Exit status 0 when every cell that ran passed and at least one ran: a matrix whose cells were
# all skipped tested nothing and fails.
set -u
matrix=${TEST_ALL_MATRIX:-"3.11:0.4.38 3.12:0.7.2 3.11:0.10.2 3.12:0.12.1 3.13:0.12.1"}
# The suite's own settings (the Makefile exports them too): CPU, two host devices.
export JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}"
export XLA_FLAGS="${XLA_FLAGS:---xla_force_host_platform_device_count=2}"
status=0
cells=0
passed_cells=0
skipped_cells=0
lines=""

find_python() {
  # pyenv's own interpreter where pyenv has one (its shims fail for non-global versions),
  # else pythonX.Y on the PATH; prints nothing when neither runs.
  found=""
  if command -v pyenv >/dev/null 2>&1; then
    installed=$(pyenv versions --bare | grep -E "^$1(\.[0-9]+)?$" | tail -n 1)
    [ -n "$installed" ] && found="$(pyenv root)/versions/$installed/bin/python"
  fi
  [ -n "$found" ] || found=$(command -v "python$1" || true)
  if [ -n "$found" ] && "$found" -c pass >/dev/null 2>&1; then echo "$found"; fi
}

make_venv() {
  # $1 python, $2 jax version, $3 venv: jax and jaxlib pinned in the same pip command as the
  # project, so that pip picks the libraries' releases that work with that JAX.
  "$1" -m venv "$3" || return 1
  "$3/bin/python" -m pip install --quiet --upgrade pip >"$3/install.log" 2>&1 || return 1
  "$3/bin/python" -m pip install -e '.[dev,libs]' "jax==$2" "jaxlib==$2" >>"$3/install.log" 2>&1 \
    || return 1
  touch "$3/.installed"
}

summary_line() {
  # pytest's closing line ("3 failed, 812 passed, 20 skipped in 480.12s"), bare under -q.
  grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed|warnings?)\b.* in [0-9.]+s' "$1" \
    | tail -n 1
}

counts() {
  # "812 passed, 3 failed, 20 skipped" from pytest's closing line in the file $1.
  last=$(summary_line "$1")
  for word in passed failed error skipped; do
    number=$(echo "$last" | grep -oE "[0-9]+ $word" | grep -oE '[0-9]+')
    printf '%s %s, ' "${number:-0}" "$word"
  done | sed 's/, $//'
}

for cell in $matrix; do
  python_version=${cell%%:*}
  jax_version=${cell#*:}
  cells=$((cells + 1))
  label="Python $python_version, jax $jax_version"
  python=$(find_python "$python_version")
  if [ -z "$python" ]; then
    line="$label: skipped (no Python $python_version here)"
    skipped_cells=$((skipped_cells + 1))
    echo "$line"
    lines="$lines\n  $line"
    continue
  fi
  venv=".venv-py$python_version-jax$jax_version"
  if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
    echo "=== $label: making $venv (log: $venv/install.log) ==="
    if ! make_venv "$python" "$jax_version" "$venv"; then
      if grep -q "No matching distribution found for jax" "$venv/install.log" 2>/dev/null; then
        line="$label: skipped (pip offers no jax $jax_version for Python $python_version)"
        skipped_cells=$((skipped_cells + 1))
      else
        line="$label: FAILED to install (see $venv/install.log)"
        status=1
      fi
      echo "$line"
      lines="$lines\n  $line"
      continue
    fi
  fi
  echo "=== $label ==="
  log="$venv/pytest.log"
  start=$(date +%s)
  # shellcheck disable=SC2086  # TEST_ALL_ARGS is a list of words
  nice "$venv/bin/python" -m pytest -q -p no:cacheprovider ${TEST_ALL_ARGS:-} "$@" 2>&1 | tee "$log"
  seconds=$(($(date +%s) - start))
  closing=$(summary_line "$log")
  if [ -z "$closing" ] || echo "$closing" | grep -qE 'failed|error' \
    || ! echo "$closing" | grep -q passed; then
    verdict=FAILED
    status=1
  else
    verdict=passed
    passed_cells=$((passed_cells + 1))
  fi
  line="$label: $verdict, $(counts "$log") in ${seconds} s"
  lines="$lines\n  $line"
done
[ "$passed_cells" -gt 0 ] || status=1
printf "test-all:%b\n" "$lines"
echo "test-all: $passed_cells of $cells cells passed, $skipped_cells skipped"
exit $status
