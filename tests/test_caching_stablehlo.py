"""StableHLO without debug info, each line with the user's line: on real modules that JAX lowered
in the test, compared with JAX's own printing of the module without its locations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from jaxexplain.caching.stablehlo import EXCERPT_LINES, Program, changed_lines, program_of
from jaxexplain.userfiles import short_path


def helper(v: jax.Array) -> jax.Array:
    return jnp.cos(v)  # marker: cos


def scaled(scale: float) -> Callable[[jax.Array], jax.Array]:
    """A function whose constant is `scale`: two scales give two computations."""

    def step(x: jax.Array) -> jax.Array:
        y = helper(x) * scale  # marker: scale
        return jnp.sin(y)  # marker: sin

    return step


def many_constants(base: float) -> Callable[[jax.Array], jax.Array]:
    """More changed constants than an excerpt shows."""

    def step(x: jax.Array) -> jax.Array:
        for k in range(EXCERPT_LINES + 3):
            x = x * (base + k)
        return x

    return step


def where(marker: str) -> str:
    """The `file:line` of `# marker: NAME` in this file, as the report shows it."""
    lines = Path(__file__).read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if f"# marker: {marker}" in text)
    return short_path(f"{__file__}:{line}")


def lowered(fn: Callable[..., Any]) -> Any:
    return jax.jit(fn).lower(jnp.ones(3))


def program(fn: Callable[..., Any]) -> Program:
    return program_of(lowered(fn).as_text(debug_info=True))


def test_the_lines_are_jaxs_module_without_its_locations() -> None:
    low = lowered(scaled(2.0))
    plain = [line.rstrip() for line in low.as_text().splitlines() if line.strip()]
    assert list(program_of(low.as_text(debug_info=True)).lines) == plain
    assert all("loc(" not in line for line in plain)


def test_the_compiler_ir_printed_with_its_locations_reads_the_same() -> None:
    low = lowered(scaled(2.0))
    text = low.compiler_ir("stablehlo").operation.get_asm(enable_debug_info=True)
    assert program_of(text) == program_of(low.as_text(debug_info=True))


def test_each_operation_points_at_the_users_line_the_innermost_first() -> None:
    found = program(scaled(2.0))
    located = dict(zip(found.lines, found.where, strict=True))
    op_line = {
        op: next(w for line, w in located.items() if f"stablehlo.{op} " in line)
        for op in ("cosine", "multiply", "sine")
    }
    assert op_line == {"cosine": where("cos"), "multiply": where("scale"), "sine": where("sin")}


def test_a_constant_points_at_the_line_that_uses_it_not_at_the_jit_call() -> None:
    found = program(scaled(2.0))
    (constant,) = [i for i, line in enumerate(found.lines) if "stablehlo.constant" in line]
    assert "2.0" in found.lines[constant] and found.where[constant] == where("scale")


def test_a_changed_constant_is_the_one_line_that_differs_with_its_users_line() -> None:
    removed, added = changed_lines(program(scaled(2.0)), program(scaled(3.0)))
    (before,) = removed
    (after,) = added
    assert "dense<2.0" in before and "dense<3.0" in after
    assert before.endswith(f"@ {where('scale')}") and after.endswith(f"@ {where('scale')}")


def test_the_same_program_has_no_changed_lines() -> None:
    assert changed_lines(program(scaled(2.0)), program(scaled(2.0))) == ([], [])


def test_an_excerpt_is_cut_to_its_first_lines() -> None:
    a, b = program(many_constants(1.0)), program(many_constants(100.0))
    differing = sum(x != y for x, y in zip(a.lines, b.lines, strict=True))
    removed, added = changed_lines(a, b)
    assert differing > EXCERPT_LINES
    assert len(removed) == len(added) == EXCERPT_LINES
