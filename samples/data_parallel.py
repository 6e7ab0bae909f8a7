"""Data-parallel training over a device mesh, as one process or as N `jax.distributed` processes.

One process:   python samples/data_parallel.py
N processes:   python samples/data_parallel.py --processes 2 --process-id I --port 12355  (I = 0, 1)
`--diverge` gives the last process a smaller last batch (17 rows, a host-local remainder), the bug
that hangs a multi-host job: that process compiles `train_step` once more and the others do not.
So that this demo ends instead of hanging, the odd batch runs on that process's own devices only.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

FEATURES, CLASSES, BATCH = 784, 10, 32
REMAINDER = 17


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--port", type=int, default=12355)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--diverge", action="store_true")
    return parser.parse_args()


@jax.jit
def train_step(params: dict, x: jax.Array, y: jax.Array) -> tuple[dict, jax.Array]:
    def loss_fn(p: dict) -> jax.Array:
        logits = x @ p["w"] + p["b"]
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * y, axis=-1))

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), loss


def batch(step: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step + 1000 * jax.process_index())
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, rows)]
    return x, y


def run(args: argparse.Namespace) -> None:
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    data = NamedSharding(mesh, P("data"))
    replicated = NamedSharding(mesh, P())
    params = jax.device_put(
        {"w": jnp.zeros((FEATURES, CLASSES)), "b": jnp.zeros((CLASSES,))}, replicated
    )
    for step in range(args.steps):
        x, y = (jax.make_array_from_process_local_data(data, a) for a in batch(step, BATCH))
        params, loss = train_step(params, x, y)
        print(f"process {jax.process_index()} step {step} loss {float(loss):.4f}")
    if args.diverge and jax.process_index() == jax.process_count() - 1:
        local = Mesh(np.array(jax.local_devices()), ("data",))
        x, y = (jax.device_put(a, NamedSharding(local, P())) for a in batch(args.steps, REMAINDER))
        mine = jax.device_put(jax.tree.map(np.asarray, params), NamedSharding(local, P()))
        _, loss = train_step(mine, x, y)
        print(f"process {jax.process_index()} remainder loss {float(loss):.4f}")


def main() -> None:
    args = parse()
    if args.processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            f"127.0.0.1:{args.port}", num_processes=args.processes, process_id=args.process_id
        )
    run(args)
    if args.processes > 1:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main()
