"""flax.nnx.jit against the real flax: the call is traced through nnx.jit itself, the state
leaves are named by the user's paths, and the digest changes exactly where nnx.jit traces
again (counted by the real wrapper's Python side effects and its inner jax.jit's cache)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

import jaxexplain
from tests.targets.libs import nnx_jit as targets


def real_traces(name: str, **args: object) -> int:
    """How many times the real nnx.jit function traced for one call with these arguments."""
    before = targets.TRACES[name]
    getattr(targets, name)(**args)
    return targets.TRACES[name] - before


def digest(fn: object, **args: object) -> str:
    report = jaxexplain.trace(fn, **args, compile=False)
    assert report.ok, report.error
    return report.cache_key.digest


def test_train_step_leaves_are_the_users_paths_in_nnx_order() -> None:
    args = targets.train_args()
    report = jaxexplain.trace(targets.train_step, **args, compile=False)
    assert report.ok, report.error
    model_state = nnx.state(args["model"])
    expected = [
        "model" + "".join(f".{key}" for key in path) for path, _ in nnx.to_flat_state(model_state)
    ]
    paths = [leaf.path for leaf in report.cache_key.traced]
    assert paths[: len(expected)] == expected
    assert "model.linear.kernel" in paths
    assert paths[-2:] == ["x", "y"]
    pure_leaves = jax.tree_util.tree_leaves(
        targets.train_step.trace(**targets.train_args()).traced.in_avals
    )
    assert len(paths) == len(pure_leaves)
    assert any("flax.nnx.jit splits every graph node" in note for note in report.notes)
    assert not any("not modelled" in note for note in report.notes)


def test_same_structure_reuses_and_another_width_recompiles_as_nnx_does() -> None:
    first = targets.train_args(8, seed=0)
    real_traces("train_step", **first)
    assert real_traces("train_step", **targets.train_args(8, seed=1)) == 0
    assert real_traces("train_step", **targets.train_args(16)) == 1
    base = digest(targets.train_step, **targets.train_args(8, seed=0))
    assert digest(targets.train_step, **targets.train_args(8, seed=1)) == base
    assert digest(targets.train_step, **targets.train_args(16)) != base


def test_static_python_int_recompiles_per_value_as_nnx_does() -> None:
    args = targets.repeat_args()
    report = jaxexplain.trace(targets.repeat, **args, compile=False)
    assert {a.name: a.role for a in report.arguments}["n"] == "static"
    real_traces("repeat", **args)
    assert real_traces("repeat", **args) == 0
    assert real_traces("repeat", **{**args, "n": 3}) == 1
    assert digest(targets.repeat, **{**args, "n": 2}) == report.cache_key.digest
    assert digest(targets.repeat, **{**args, "n": 3}) != report.cache_key.digest
    counted = [d for d in report.decisions if d.kind == "for"]
    assert counted and counted[0].outcomes == (args["n"],)


def test_diff_is_verified_against_nnx_jits_own_cache() -> None:
    args = targets.repeat_args()
    report = jaxexplain.diff(targets.repeat, **args, vs={"n": 3}, compile=False)
    assert report.recompiles is True
    assert [(c.component, c.path) for c in report.cache_key_changes] == [("static", "n")]
    assert report.verification.checked and report.verification.agrees
    same = jaxexplain.diff(targets.repeat, **args, vs={"x": jnp.ones((3, 4))}, compile=False)
    assert same.recompiles is False
    assert same.verification.checked and same.verification.agrees
