"""The same shapes on two devices, then with a new sharding: jit's tracing cache hits, but the
lowering misses. Needs XLA_FLAGS=--xla_force_host_platform_device_count=2."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


@jax.jit
def scale(x):
    return x * 2.0


if __name__ == "__main__":
    first, second = jax.devices()[:2]
    x = jnp.arange(8.0)
    scale(jax.device_put(x, first))
    scale(jax.device_put(x, second))
    mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
    scale(jax.device_put(x, NamedSharding(mesh, PartitionSpec("data"))))
    print(scale._cache_size())
