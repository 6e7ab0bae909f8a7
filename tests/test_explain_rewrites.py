"""explain/rewrites.py on real source: each rewrite of the failing lines. The test compiles every
rewrite, and also writes its code into a copy of the user's file as a user would; JAX traces
both under jit, and they give the original's values on inputs the test draws."""

from __future__ import annotations

import ast
import importlib.util
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import trace_target
from jaxexplain.explain import constructs, rewrites
from jaxexplain.explain.rewrite_fixes import module_aliases
from jaxexplain.explain.rewrites import Rewrite
from jaxexplain.inputs.specs import ArraySpec
from tests.failing_cases import failing_construct
from tests.targets.explain import rewritable as user

FAILING = "tests.targets.failures.domains"

SOURCE = Path(user.__file__)


def rewrites_of(fn: Callable[..., Any], *args: Any, from_constants: bool = False) -> list[Rewrite]:
    function, _, construct = failing_construct(fn, *args)
    aliases = module_aliases(fn.__globals__)
    return rewrites.rewrite_for(function, construct, aliases, from_constants=from_constants)


def compiled(fn: Callable[..., Any], rewrite: Rewrite) -> Callable[..., Any]:
    """The rewritten function object, with the original's globals (and `lax`) and closure."""
    code = rewrites.compile_function(
        rewrite.function, fn.__code__.co_filename, fn.__code__.co_freevars
    )
    namespace = {**fn.__globals__, "lax": jax.lax}
    return types.FunctionType(code, namespace, fn.__name__, fn.__defaults__, fn.__closure__)


def written(rewrite: Rewrite, tmp_path: Path) -> types.ModuleType:
    """The user's module with the rewrite's code in place of its lines, imported afresh (with
    `lax` imported at its end, which leaves its line numbers as they are)."""
    lines = SOURCE.read_text().splitlines()
    lines[rewrite.first_line - 1 : rewrite.last_line] = rewrite.code.splitlines()
    path = tmp_path / f"rewritten_{rewrite.kind}.py"
    path.write_text("\n".join([*lines, "from jax import lax"]) + "\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def floats(rng: np.random.Generator, shape: tuple[int, ...] = ()) -> jax.Array:
    return jnp.asarray(rng.normal(size=shape) * 3, jnp.float32)


# (target, example arguments that make it fail, a draw of inputs, the rewrites expected)
CASES: list[tuple[Callable[..., Any], Callable[[np.random.Generator], tuple[Any, ...]], list[str]]]
CASES = [
    (user.clipped_sqrt, lambda rng: (floats(rng),), ["where", "safe_where", "cond"]),
    (user.piecewise, lambda rng: (floats(rng),), ["where"]),
    (user.sign_flip, lambda rng: (floats(rng, (3,)),), ["where"]),
    (user.weighted_sum, lambda rng: (floats(rng, (3,)), int(rng.integers(0, 5))), ["fori_loop"]),
    (user.halve_while_large, lambda rng: (floats(rng),), ["while_loop"]),
    (user.scaled_by_mean, lambda rng: (floats(rng, (3,)),), ["jnp"]),
    (user.positive_sum, lambda rng: (floats(rng, (4,)),), ["where"]),
    (user.numpy_sin, lambda rng: (floats(rng, (3,)),), ["jnp"]),
    (
        user.branch_on_local,
        lambda rng: (floats(rng, (3,)), floats(rng)),
        ["where", "safe_where", "cond"],
    ),
]


@pytest.mark.parametrize(("fn", "draw", "kinds"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_each_rewrite_traces_and_gives_the_originals_values(
    fn: Callable[..., Any],
    draw: Callable[[np.random.Generator], tuple[Any, ...]],
    kinds: list[str],
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    found = rewrites_of(fn, *draw(rng))
    assert [r.kind for r in found] == kinds
    for rewrite in found:
        by_code = getattr(written(rewrite, tmp_path), fn.__name__)
        for _ in range(5):
            args = draw(rng)
            expected = fn(*args)
            for rewritten in (compiled(fn, rewrite), by_code):
                actual = jax.jit(rewritten)(*args)
                np.testing.assert_allclose(actual, expected, rtol=1e-5, err_msg=rewrite.kind)


def test_a_closures_rewrite_keeps_its_cells() -> None:
    scale = user.make_scaler(2.5)
    rng = np.random.default_rng(1)
    found = rewrites_of(scale, floats(rng))
    assert [r.kind for r in found] == ["where", "safe_where", "cond"]
    for rewrite in found:
        for _ in range(5):
            x = floats(rng)
            np.testing.assert_allclose(jax.jit(compiled(scale, rewrite))(x), scale(x), rtol=1e-6)


def test_an_array_branch_is_rewritten_elementwise_and_lax_cond_needs_a_scalar() -> None:
    """`if x > 0` on f32[5] has no eager value; each element's does, and the `jnp.where`
    rewrites give it. `lax.cond` is offered too, and JAX refuses its array predicate."""
    rng = np.random.default_rng(2)
    found = {r.kind: r for r in rewrites_of(user.relu_or_square, floats(rng, (5,)))}
    assert list(found) == ["where", "safe_where", "cond"]
    x = floats(rng, (5,))
    per_element = np.stack([user.relu_or_square(v) for v in x])
    for kind in ("where", "safe_where"):
        rewritten = compiled(user.relu_or_square, found[kind])
        np.testing.assert_allclose(jax.jit(rewritten)(x), per_element, rtol=1e-6)
    with pytest.raises(TypeError, match="Pred must be a scalar"):
        jax.jit(compiled(user.relu_or_square, found["cond"]))(x)


def test_a_value_made_from_constants_is_computed_with_numpy() -> None:
    rng = np.random.default_rng(3)
    (numpy, *_) = rewrites_of(user.constant_branch, floats(rng, (3,)), from_constants=True)
    assert numpy.kind == "numpy" and "np.ones(3)" in numpy.code
    traced = jax.make_jaxpr(compiled(user.constant_branch, numpy))(floats(rng, (3,)))
    assert len(traced.jaxpr.eqns) == len(jax.make_jaxpr(lambda x: x * user.SCALE)(1.0).jaxpr.eqns)
    x = floats(rng, (3,))
    np.testing.assert_allclose(jax.jit(compiled(user.constant_branch, numpy))(x), x * user.SCALE)


def test_a_where_rewrite_keeps_a_forced_copy_of_the_chain() -> None:
    """The forced copy calls BRANCH_HELPER(k, test) for each test of the chain: whatever the
    input, the branch the helper picks is the one that runs."""
    rng = np.random.default_rng(4)
    (where,) = rewrites_of(user.piecewise, floats(rng))
    (forced,) = where.forced
    code = rewrites.compile_function(forced, str(SOURCE), ())
    branches = [lambda x: x * 2, lambda x: x + 1, lambda x: -x]
    x = floats(rng)
    for taken, branch in zip([0, 1, -1], branches, strict=True):
        helper = {rewrites.BRANCH_HELPER: lambda k, _test, taken=taken: k == taken}
        run = types.FunctionType(code, {**user.__dict__, **helper})
        np.testing.assert_allclose(run(x), branch(x))


def test_read_name_instead_reads_the_enclosing_argument(tmp_path: Path) -> None:
    """`range(reps)` (a value the body got through its argument) read as `range(n)`: with `n`
    static the rewrite traces, and gives the original's values."""
    function = constructs.user_function(user.carried_count.__code__)
    assert function is not None
    (reps,) = [
        node
        for node in ast.walk(function.node)
        if isinstance(node, ast.Call)
        and ast.unparse(node) == "range(reps)"
        and isinstance(node.args[0], ast.Name)
    ]
    rewrite = rewrites.read_name_instead(function, reps.args[0], "n", "read_static")
    assert rewrite is not None and rewrite.code.strip() == "for _ in range(n):"
    rewritten = jax.jit(compiled(user.carried_count, rewrite), static_argnames="n")
    by_code = jax.jit(written(rewrite, tmp_path).carried_count, static_argnames="n")
    x = jnp.arange(3.0)
    for n in range(4):
        np.testing.assert_allclose(rewritten(x, n), user.carried_count(x, n))
        np.testing.assert_allclose(by_code(x, n), user.carried_count(x, n))


def test_a_print_of_a_converted_traced_value_becomes_a_verified_jax_debug_print() -> None:
    """`print(f"lr={float(lr):.5f}")` on a traced schedule value: the fix is
    `jax.debug.print('lr={:.5f}', lr)`, verified; the function with that line traces in JAX."""
    import inspect
    import textwrap

    from tests.targets.failures import domains as failing

    tree = {"w": ArraySpec((3,), "float32")}
    report = trace_target(
        f"{FAILING}:sgd_logged",
        {},
        {"params": tree, "grads": tree, "step": ArraySpec((), "int32")},
        compile=False,
    )
    assert report.error is not None and report.error.line == 32
    (fix,) = [s for s in report.error.suggestions if s.kind == "rewrite"]
    assert fix.verified and fix.code.strip() == "jax.debug.print('lr={:.5f}', lr)"
    source = textwrap.dedent(inspect.getsource(failing.sgd_logged.__wrapped__))
    source = source.replace('print(f"lr={float(lr):.5f}")', fix.code.strip())
    namespace = dict(vars(failing))
    exec(compile(source.replace("@jax.jit\n", ""), "<fixed>", "exec"), namespace)
    zeros = {"w": jnp.zeros(3)}
    traced = jax.jit(namespace["sgd_logged"]).trace(zeros, zeros, jnp.int32(5))
    assert "debug_print" in {e.primitive.name for e in traced.jaxpr.eqns}
