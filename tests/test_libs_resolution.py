"""Following library tests back to the user's arguments stays cheap on real library code:
distrax's normalizing flow (whose distribution locals read each other through every aspect)
traces in seconds with decisions that agree with JAX. (A spent resolution budget is tested in
tests/test_decisions_resolve.py.)"""

from __future__ import annotations

from typing import Any

import jax

import jaxexplain
from tests.targets.libs import distrax_flow as dx


def primitives(fn: Any, static: dict[str, Any], **args: Any) -> list[str]:
    """The primitive of every top-level equation of JAX's own jaxpr of `fn`."""
    traced = jax.jit(fn, static_argnames=tuple(static)).trace(**args, **static)
    return [str(e.primitive) for e in traced.jaxpr.eqns]


def test_the_distrax_flow_traces_and_its_jaxpr_is_jaxs() -> None:
    """The flow's log_prob (no statics, no user test) is reported with JAX's own jaxpr."""
    report = jaxexplain.trace(dx.flow_log_prob, compile=False, **dx.flow_args())
    assert report.error is None
    assert report.decisions == ()
    assert report.library_decisions == ()
    assert report.jaxpr.equations == len(primitives(dx.flow_log_prob, {}, **dx.flow_args()))


def test_a_distrax_test_on_the_sample_count_keeps_its_outcome_as_jax_keeps_its_equations() -> None:
    """Sampling with `num_samples` static: each listed library test on it has the same
    outcome for 32 and 7 samples, as JAX's jaxprs for both hold the same equations (only
    their shapes differ): nothing in distrax branched on the count."""
    args = dx.sample_args()
    seen = {}
    for count in (32, 7):
        args["num_samples"] = count
        report = jaxexplain.trace(
            dx.sample_flow, static_argnames="num_samples", compile=False, **args
        )
        assert report.error is None
        seen[count] = {(d.file, d.line, d.source): d.outcomes for d in report.library_decisions}
        assert {d.static for d in report.library_decisions} <= {"num_samples"}
    del args["num_samples"]
    assert seen[32] == seen[7]
    jaxprs = [primitives(dx.sample_flow, {"num_samples": n}, **args) for n in (32, 7)]
    assert jaxprs[0] == jaxprs[1]
