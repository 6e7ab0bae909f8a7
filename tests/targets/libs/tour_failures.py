"""User code from a tour of real libraries whose traces fail: a sample shape passed traced as a
tuple (distrax), a traced sample count that numpyro hands to NumPy, an optimistix solver passed
traced from a factory, and a jraph segment count computed from a graph's data."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
import optimistix as optx
from numpyro.infer import Predictive

with warnings.catch_warnings():  # distrax's TFP backend uses a deprecated jax.core name
    warnings.simplefilter("ignore", DeprecationWarning)
    import distrax


def mixture_sample(logits: Any, locs: Any, key: Any, sample_shape: Any) -> Any:
    mix = distrax.MixtureSameFamily(
        mixture_distribution=distrax.Categorical(logits=logits),
        components_distribution=distrax.Normal(locs, 1.0),
    )
    return mix.sample(seed=key, sample_shape=sample_shape)


def mixture_args() -> dict[str, Any]:
    return {
        "logits": jnp.zeros(3),
        "locs": jnp.arange(3.0),
        "key": jax.random.key(1),
        "sample_shape": (4, 5),
    }


def mixture_list_args() -> dict[str, Any]:
    return {**mixture_args(), "sample_shape": [4, 5]}


def model(x: Any, y: Any = None) -> None:
    w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([x.shape[1]]))
    b = numpyro.sample("b", dist.Normal(0.0, 1.0))
    with numpyro.plate("data", x.shape[0]):
        numpyro.sample("obs", dist.Normal(x @ w + b, 1.0), obs=y)


def prior_predictive(key: Any, x: Any, num_samples: int) -> Any:
    predictive = Predictive(model, num_samples=num_samples)
    return predictive(key, x)["obs"]


def predictive_args() -> dict[str, Any]:
    return {"key": jax.random.key(1), "x": jnp.ones((8, 3)), "num_samples": 100}


def rosenbrock(y: Any, args: Any) -> Any:
    return jnp.sum(100.0 * (y[1:] - y[:-1] ** 2) ** 2 + (1.0 - y[:-1]) ** 2)


def minimise(y0: Any, solver: Any, max_steps: int = 64) -> Any:
    sol = optx.minimise(rosenbrock, solver, y0, max_steps=max_steps, throw=False)
    return sol.value


def minimise_args() -> dict[str, Any]:
    return {"y0": jnp.zeros(4), "solver": optx.BFGS(rtol=1e-5, atol=1e-5)}


def graph(n_nodes: int = 5, n_edges: int = 4) -> Any:
    import jraph  # not installed for every Python the suite runs under

    return jraph.GraphsTuple(
        nodes=jnp.ones((n_nodes, 4)),
        edges=None,
        senders=jnp.arange(n_edges) % n_nodes,
        receivers=(jnp.arange(n_edges) + 1) % n_nodes,
        n_node=jnp.array([n_nodes]),
        n_edge=jnp.array([n_edges]),
        globals=None,
    )


def node_mean(params: Any, graph: Any) -> Any:
    import jraph

    update = lambda nodes: jnp.tanh(nodes @ params["w"])  # noqa: E731 (jraph's own idiom)
    nodes = jraph.GraphConvolution(update_node_fn=update, add_self_edges=True)(graph).nodes
    total = graph.n_node.sum()
    return jraph.segment_mean(nodes, jnp.zeros(nodes.shape[0], jnp.int32), num_segments=total)


def node_mean_args(width: int = 8) -> dict[str, Any]:
    return {"params": {"w": jnp.ones((4, width))}, "graph": graph()}
