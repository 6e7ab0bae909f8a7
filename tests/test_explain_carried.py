"""explain/carried.py: a count a loop body reads from its carry is blamed on the argument the
slot was built from, and the fix (reading it from the enclosing function) names each caller's
way of marking it static. (tests/test_libs_carries.py checks the fixes against JAX on every
loop kind.)"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.report import Dependency
from tests.failing_cases import explain_as
from tests.targets.libs import carries as lib

XS = jax.ShapeDtypeStruct((4, 3), np.float32)
I32 = jax.ShapeDtypeStruct((), np.int32)


def test_a_count_given_as_an_array_is_read_outside_the_carry_with_each_callers_option() -> None:
    with pytest.raises(jax.errors.TracerIntegerConversionError):
        jax.jit(lib.repeat_in_scan, static_argnames="reps").trace(jnp.ones((4, 3)), 3)
    cli = explain_as("cli", lib.repeat_in_scan, traced={"xs": XS, "reps": I32})
    api = explain_as("api", lib.repeat_in_scan, traced={"xs": XS, "reps": I32})
    assert cli.depends_on == api.depends_on == (Dependency("reps", "value"),)
    assert cli.explanation == api.explanation
    assert "slot 1 of the `lax.scan` carry" in cli.explanation
    (cli_fix,) = [s for s in cli.suggestions if s.params == ("reps",)]
    (api_fix,) = [s for s in api.suggestions if s.params == ("reps",)]
    assert not cli_fix.verified and not api_fix.verified
    assert cli_fix.code == api_fix.code and cli_fix.code is not None
    assert "mark it static (--static reps=VALUE, or jax.jit(..., static_argnames=('reps',)))" in (
        cli_fix.text
    )
    assert cli_fix.text.endswith("; pass it with --static reps=VALUE.")
    assert (
        "mark it static (static_argnames=('reps',) to jaxexplain.trace, or jax.jit(..., "
        "static_argnames=('reps',)))" in api_fix.text
    )
    assert api_fix.text.endswith("; pass it with static_argnames=('reps',) to jaxexplain.trace.")


def test_a_count_given_as_a_number_is_read_outside_the_carry_and_verified() -> None:
    error = explain_as("api", lib.repeat_in_scan, traced={"xs": XS, "reps": 3})
    (fix,) = [s for s in error.suggestions if s.verified]
    assert fix.kind == "rewrite" and fix.checks == ("traced", "values", "gradients")
    assert "mark it static (static_argnames=('reps',) to jaxexplain.trace, or " in fix.text
