"""Collectives read from the compiled SPMD HLO of real sharded programs: on the suite's 2 CPU
devices in-process, and on 4 in a subprocess; counts checked against the HLO text JAX gives,
source lines against the user's file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxexplain.tracing.collectives import collectives_of, per_line

ROOT = Path(__file__).resolve().parents[1]


def sharded_loss(x: jax.Array, w: jax.Array) -> tuple[jax.Array, jax.Array]:
    y = x @ w
    return jnp.sum(y), jnp.mean(x, axis=0)


def compiled_text(devices: int) -> str:
    mesh = Mesh(np.array(jax.devices()[:devices]), ("data",))
    spec = NamedSharding(mesh, P("data", None))
    x = jax.ShapeDtypeStruct((8, 128), jnp.float32, sharding=spec)
    w = jax.ShapeDtypeStruct((128, 16), jnp.float32, sharding=spec)
    return jax.jit(sharded_loss).lower(x, w).compile().as_text()


def test_every_collective_of_the_hlo_with_its_source_line() -> None:
    hlo = compiled_text(2)
    found = collectives_of(hlo)
    for kind in ("all-gather", "all-reduce"):
        assert sum(c.kind == kind for c in found) == hlo.count(f" {kind}(")
    gather = next(c for c in found if c.kind == "all-gather")
    code = sharded_loss.__code__
    assert (gather.file, gather.line) == (code.co_filename, code.co_firstlineno + 1)
    assert gather.bytes == 128 * 16 * np.dtype(np.float32).itemsize  # the whole gathered w
    assert gather.op_name.endswith("dot_general") and gather.replica_groups
    reduce = next(c for c in found if c.kind == "all-reduce")
    assert reduce.line == code.co_firstlineno + 2


def test_summed_per_line_most_bytes_first() -> None:
    lines = per_line(collectives_of(compiled_text(2)))
    assert [line.bytes for line in lines] == sorted((line.bytes for line in lines), reverse=True)
    assert sum(line.count for line in lines) == len(collectives_of(compiled_text(2)))


SCRIPT = """
import json, sys
import jax, numpy as np
sys.path.insert(0, {root!r})
from tests.test_tracing_collectives import compiled_text
from jaxexplain.tracing.collectives import collectives_of
hlo = compiled_text(4)
print(json.dumps({{"devices": jax.device_count(), "gathers": hlo.count(" all-gather("),
    "found": [[c.kind, c.bytes, c.replica_groups] for c in collectives_of(hlo)]}}))
"""


def test_four_devices_in_a_subprocess(tmp_path) -> None:
    script = tmp_path / "four.py"
    script.write_text(textwrap.dedent(SCRIPT.format(root=str(ROOT))))
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    gathers = [f for f in result["found"] if f[0] == "all-gather"]
    assert len(gathers) == result["gathers"] >= 1
    assert gathers[0][1] == 128 * 16 * 4 and "4" in gathers[0][2]
