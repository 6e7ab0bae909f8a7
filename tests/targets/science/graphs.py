"""GNN message passing, embeddings, preprocessing and pooling."""

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames=("num_nodes", "aggregate"))
def gnn_layer(h, senders, receivers, w, num_nodes, aggregate="sum"):
    msgs = jnp.take(h, senders, axis=0) @ w
    if aggregate == "sum":
        agg = jax.ops.segment_sum(msgs, receivers, num_segments=num_nodes)
    elif aggregate == "mean":
        s = jax.ops.segment_sum(msgs, receivers, num_segments=num_nodes)
        c = jax.ops.segment_sum(
            jnp.ones_like(receivers, dtype=h.dtype), receivers, num_segments=num_nodes
        )
        agg = s / jnp.maximum(c, 1.0)[:, None]
    else:
        agg = jax.ops.segment_max(msgs, receivers, num_segments=num_nodes)
    return jax.nn.relu(h + agg)


@jax.jit
def bag_of_embeddings(table, ids, offsets):
    vecs = jnp.take(table, ids, axis=0, mode="clip")
    seg = jnp.cumsum(jnp.zeros_like(ids).at[offsets].add(1)) - 1
    return jax.ops.segment_sum(vecs, seg, num_segments=offsets.shape[0])


@partial(jax.jit, static_argnames=("max_classes",))
def relabel(labels, max_classes):
    uniq, inv = jnp.unique(labels, size=max_classes, fill_value=-1, return_inverse=True)
    counts = jnp.bincount(inv.ravel(), length=max_classes)
    return uniq, inv, counts


@jax.jit
def running_max_prefix(x):
    return jax.lax.associative_scan(jnp.maximum, x)


@jax.jit
def per_row_norm(x):
    return jax.lax.map(lambda r: jnp.linalg.norm(r), x, batch_size=4)


@partial(jax.jit, static_argnames=("window", "padding"))
def max_pool(x, window, padding="VALID"):
    return jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, window, window, 1), (1, window, window, 1), padding
    )


@partial(jax.jit, static_argnames=("padding", "stride"))
def conv(x, k, padding="SAME", stride=1):
    return jax.lax.conv_general_dilated(
        x, k, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
