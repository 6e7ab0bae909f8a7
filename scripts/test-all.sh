#!/bin/sh
# Runs the test suite (or the tests given) in one virtual environment per Python interpreter
# that pyenv has, and says which JAX each one got.
set -u
status=0
summary=""
for version in 3.11 3.12 3.13; do
  python=$(command -v "python$version" || true)
  if [ -z "$python" ] && command -v pyenv >/dev/null 2>&1; then
    prefix=$(pyenv prefix "$(pyenv versions --bare | grep -E "^$version(\.|$)" | tail -n 1)" 2>/dev/null || true)
    [ -n "$prefix" ] && python="$prefix/bin/python"
  fi
  if [ -z "$python" ] || [ ! -x "$python" ]; then
    summary="$summary\n  Python $version: not available, skipped"
    continue
  fi
  venv=".venv-$version"
  if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
    "$python" -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --upgrade pip \
      && "$venv/bin/python" -m pip install --quiet -e '.[dev]' && touch "$venv/.installed" || { status=1; continue; }
  fi
  jax_version=$("$venv/bin/python" -c 'import jax; print(jax.__version__)')
  echo "=== Python $version, jax $jax_version ==="
  if "$venv/bin/python" -m pytest -q "$@"; then result=passed; else result=FAILED; status=1; fi
  summary="$summary\n  Python $version, jax $jax_version: $result"
done
printf "summary:%b\n" "$summary"
exit $status
