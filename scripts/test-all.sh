#!/bin/sh
# Runs the test suite (or the tests given) in one virtual environment per Python interpreter
# that pyenv has, and says which JAX each one got.
set -u
status=0
summary=""
for version in 3.11 3.12 3.13; do
  python=""
  if command -v pyenv >/dev/null 2>&1; then
    installed=$(pyenv versions --bare | grep -E "^$version(\.[0-9]+)?$" | tail -n 1)
    [ -n "$installed" ] && python="$(pyenv root)/versions/$installed/bin/python"
  fi
  [ -n "$python" ] || python=$(command -v "python$version" || true)
  if [ -z "$python" ] || ! "$python" -c pass >/dev/null 2>&1; then
    summary="$summary\n  Python $version: not available, skipped"
    continue
  fi
  venv=".venv-$version"
  if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
    "$python" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --upgrade pip \
      && "$venv/bin/python" -m pip install --quiet -e '.[dev,libs]' && touch "$venv/.installed" || { status=1; continue; }
  fi
  jax_version=$("$venv/bin/python" -c 'import jax; print(jax.__version__)')
  echo "=== Python $version, jax $jax_version ==="
  if "$venv/bin/python" -m pytest -q "$@"; then result=passed; else result=FAILED; status=1; fi
  summary="$summary\n  Python $version, jax $jax_version: $result"
done
printf "summary:%b\n" "$summary"
exit $status
