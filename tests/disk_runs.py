"""Real runs of jaxexplain over one persistent compilation cache directory, each in its own
process (JAX reads its cache settings once per process): for the pages that show the disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CONSTANTS_PROGRAM = """
import os
import jax
import jax.numpy as jnp

SCALE = float(os.environ.get("SCALE", "2.0"))


@jax.jit
def step(x):
    y = x * SCALE  # marker: scale
    z = jnp.sin(y) * (SCALE + 1)  # marker: shift
    return jnp.tanh(z) - SCALE / 2


if __name__ == "__main__":
    print(float(step(jnp.ones(3))[0]))
"""


def marked_line(program: Path, marker: str) -> int:
    """The line number of `# marker: NAME` in a program."""
    lines = program.read_text().splitlines()
    return next(i + 1 for i, text in enumerate(lines) if f"# marker: {marker}" in text)


def disk_env(folder: Path, **extra: str) -> dict[str, str]:
    """A cache directory and record folder under `folder`, every compile written."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(
        JAX_PLATFORMS="cpu",
        PYTHONPATH=str(ROOT),
        JAX_COMPILATION_CACHE_DIR=str(folder / "cache"),
        JAXEXPLAIN_RECORD_DIR=str(folder / "records"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )
    env.update(extra)
    return env


def jaxexplain_json(folder: Path, args: list[str], **extra: str) -> dict[str, Any]:
    """A jaxexplain command's JSON document, run in `folder` over its cache directory (options
    first: a watched program's own arguments follow `--`)."""
    out = folder / f"report-{len(list(folder.glob('report-*.json')))}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jaxexplain",
            args[0],
            "--format",
            "json",
            "-o",
            str(out),
            *args[1:],
        ],
        env=disk_env(folder, **extra),
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(out.read_text()))


_COMPILES_SCRIPT = """
import dataclasses, json, os, sys
import jax, jax.numpy as jnp
from jaxexplain import _jax_compat

def scaled(scale):
    def step(x):
        return jnp.sin(x) * scale
    return step

seen = []
undo = _jax_compat.patch_persistent_cache(seen.append)
for scale in sys.argv[1:]:
    jax.jit(scaled(float(scale)))(jnp.ones(4))
undo()
print(json.dumps([dataclasses.asdict(d) for d in seen if d.module_name == "jit_step"]))
"""


def disk_compiles(folder: Path, scales: list[float], **extra: str) -> list[dict[str, Any]]:
    """JAX's disk-cache facts (`_jax_compat.DiskCompile` fields) of compiling `x * scale` for
    each scale, in a fresh process over `folder`'s cache directory."""
    done = subprocess.run(
        [sys.executable, "-c", _COMPILES_SCRIPT, *map(str, scales)],
        env=disk_env(folder, **extra),
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(found) == len(scales)
    return found
