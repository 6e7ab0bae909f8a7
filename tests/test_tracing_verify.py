"""The diff verdict checked against JAX: zeros that key the cache as the report does (weak types
included), the limits of what is called, and run-time errors and logs kept off the terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxexplain
from jaxexplain.api import diff_target
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.report import Verification
from jaxexplain.tracing.verify import verify
from tests.targets import verifying
from tests.targets.shapes.package import model

TRAINING = "tests.targets.training.mlp_step"
WRAPPERS = "tests.targets.shapes.wrappers"


def double(x: Any) -> Any:
    return x * 2


class _PrivateError(Exception):
    """An exception class named with a leading underscore, as libraries name theirs."""


def _reject_zeros(x: Any, exception: type[Exception], message: str) -> None:
    if not np.any(np.asarray(x)):
        raise exception(message)


def rejects_zeros_privately(x: Any) -> Any:
    jax.debug.callback(_reject_zeros, x, _PrivateError, "zeros are not allowed here")
    return x + 1


def rejects_zeros_silently(x: Any) -> Any:
    jax.debug.callback(_reject_zeros, x, ValueError, "")
    return x + 1


def _log_a_warning(x: Any) -> None:
    logging.getLogger("jax._src.jaxexplain_test").warning("a warning from inside the call")


def logs_a_warning(x: Any) -> Any:
    jax.debug.callback(_log_a_warning, x)
    return x + 1


def jax_recompiles(fn: Any, a: Any, b: Any) -> bool:
    """JAX's own answer, read in the test: the jitted function's cache size after A, then B."""
    jitted = jax.jit(fn)
    jitted(a)
    before = jitted._cache_size()
    jitted(b)
    return jitted._cache_size() > before


# Values are made in the test, not at import: mutation testing forks workers from a process that
# imported this module, and XLA started before a fork does not work in the child.
WEAK_CASES = {
    "weak scalar vs strong scalar": ("~f32[]", "f32[]", lambda: (1.0, jnp.float32(1.0))),
    "weak array vs strong array": (
        "~f32[3]",
        "f32[3]",
        lambda: (jnp.broadcast_to(1.0, (3,)), jnp.ones(3, jnp.float32)),
    ),
    "weak array both sides": (
        "~f32[3]",
        "~f32[3]",
        lambda: (jnp.broadcast_to(1.0, (3,)), jnp.broadcast_to(2.0, (3,))),
    ),
    "weak int scalar both sides": ("~i32[]", "~i32[]", lambda: (1, 2)),
    "weak arrays of two shapes": (
        "~f32[3]",
        "~f32[4]",
        lambda: (jnp.broadcast_to(1.0, (3,)), jnp.broadcast_to(1.0, (4,))),
    ),
    "weak complex scalar vs strong": ("~c64[]", "c64[]", lambda: (1j, jnp.complex64(1j))),
}


@pytest.mark.parametrize("case", WEAK_CASES)
def test_weak_typed_inputs_are_reproduced_and_the_verdict_agrees_with_jax(case: str) -> None:
    spec_a, spec_b, values = WEAK_CASES[case]
    value_a, value_b = values()
    report = jaxexplain.diff(double, spec_a, vs={"x": spec_b}, compile=False)
    check = report.verification
    assert check is not None and check.checked, check.note if check else None
    assert check.jax_recompiled == jax_recompiles(double, value_a, value_b)
    assert check.agrees and not report.disagrees


def test_inputs_over_the_limit_are_not_called() -> None:
    report = jaxexplain.diff(
        double, "f32[1024]", vs={"x": "f32[2048]"}, compile=False, verify_limit=4096
    )
    check = report.verification
    assert check is not None and check.checked is False
    assert check.input_bytes == 2048 * 4
    assert check.note == (
        "not checked: one side's inputs need 8.0 KiB, over the --verify-limit of 4.0 KiB"
    )


def test_inputs_at_the_limit_are_called() -> None:
    report = jaxexplain.diff(
        double, "f32[512]", vs={"x": "f32[1024]"}, compile=False, verify_limit=4096
    )
    assert report.verification is not None and report.verification.checked


def test_a_callbacks_exception_is_named_by_its_public_name_and_message() -> None:
    report = jaxexplain.diff(rejects_zeros_privately, "f32[3]", vs={"x": "f32[4]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert check.note.endswith(
        "(both calls raised at run time, after JAX had made the cache entry: "
        "PrivateError: zeros are not allowed here)"
    )


def test_an_exception_without_a_message_is_named_alone() -> None:
    report = jaxexplain.diff(rejects_zeros_silently, "f32[3]", vs={"x": "f32[4]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked
    assert check.note.endswith("after JAX had made the cache entry: ValueError: )")


def _reject_four(x: Any) -> None:
    if np.shape(x) == (4,):
        raise ValueError("four is not allowed")


def rejects_four_elements(x: Any) -> Any:
    jax.debug.callback(_reject_four, x)
    return x + 1


@pytest.mark.parametrize(
    ("spec_a", "spec_b", "side"), [("f32[3]", "f32[4]", "B"), ("f32[4]", "f32[3]", "A")]
)
def test_the_side_whose_call_raised_is_named(spec_a: str, spec_b: str, side: str) -> None:
    report = jaxexplain.diff(rejects_four_elements, spec_a, vs={"x": spec_b}, compile=False)
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert (check.cache_size_a, check.cache_size_b) == (1, 2)
    assert check.note.endswith(
        f"(the call of side {side} raised at run time, after JAX had made the cache entry: "
        "ValueError: four is not allowed)"
    )


def test_a_call_that_raises_nothing_adds_no_note() -> None:
    report = jaxexplain.diff(rejects_four_elements, "f32[3]", vs={"x": "f32[5]"}, compile=False)
    check = report.verification
    assert check is not None and check.note.endswith("cache size 1 after A, 2 after B")


class _Records(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def jax_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("jax")
    saved = list(logger.handlers), logger.propagate
    yield logger
    logger.handlers, logger.propagate = saved


@pytest.mark.parametrize("propagate", [True, False])
def test_other_log_records_reach_the_users_handlers_as_before(
    jax_logger: logging.Logger, propagate: bool
) -> None:
    own, root = _Records(logging.WARNING), _Records(logging.WARNING)
    quiet = _Records(logging.ERROR)
    jax_logger.addHandler(own)
    jax_logger.addHandler(quiet)
    jax_logger.propagate = propagate
    logging.getLogger().addHandler(root)
    try:
        report = jaxexplain.diff(logs_a_warning, "f32[3]", vs={"x": "f32[4]"}, compile=False)
    finally:
        logging.getLogger().removeHandler(root)
    assert report.verification is not None and report.verification.checked
    expected = ["a warning from inside the call"] * 2  # one call on A's zeros, one on B's
    assert own.messages == expected
    assert quiet.messages == []
    assert root.messages == (expected if propagate else [])


SCALAR_CASES = {
    "bool": (True, False),
    "int": (1, 2),
    "float": (1.5, 2.5),
    "complex": (1j, 2j),
    "numpy scalar": (np.float32(1.0), np.float32(2.0)),
    "numpy array": (np.ones(3, np.float32), np.ones(4, np.float32)),
    "numpy bool scalar": (np.bool_(True), np.bool_(False)),
}


@pytest.mark.parametrize("case", SCALAR_CASES)
def test_python_and_numpy_values_are_reproduced_as_the_cache_sees_them(case: str) -> None:
    """Python scalars are weak-typed and keyed by type; zeros of the same type key the same."""
    a, b = SCALAR_CASES[case]
    report = jaxexplain.diff(double, a, vs={"x": b}, compile=False)
    check = report.verification
    assert check is not None and check.checked, check.note if check else None
    assert check.jax_recompiled == jax_recompiles(double, a, b) and check.agrees


def test_a_weak_type_no_python_number_makes_is_not_called() -> None:
    """A Python float traces as a weak f32, never as a weak f16: zeros could not key the same."""
    report = jaxexplain.diff(double, "~f16[]", vs={"x": "~f16[3]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked is False
    assert check.note == (
        "not checked: a Python float traces as ~f32[], not as the weak-typed float16 the "
        "report has (is jax_enable_x64 different?)"
    )
    assert check.input_bytes == 3 * 2


def test_a_weak_type_of_no_python_number_is_not_called() -> None:
    report = jaxexplain.diff(double, "~bf16[]", vs={"x": "~bf16[2]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked is False
    assert check.note == "not checked: cannot build a weak-typed bfloat16 input"


def test_a_function_run_without_jit_keeps_no_cache_entry_and_is_not_judged() -> None:
    with jax.disable_jit():
        report = jaxexplain.diff(double, "f32[3]", vs={"x": "f32[4]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked is False
    assert (check.cache_size_a, check.cache_size_b) == (0, 0)
    assert check.input_bytes == 4 * 4
    assert check.note == (
        "not checked: JAX kept no dispatch-cache entry for this function (it runs through "
        "JAX's slow path), so its cache size cannot tell"
    )


def test_an_abstract_input_with_a_sharding_is_reproduced_on_its_device() -> None:
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    on_device = jax.device_put(jnp.zeros(3), devices[1])
    placed = jax.ShapeDtypeStruct((3,), jnp.float32, sharding=on_device.sharding)
    report = jaxexplain.diff(
        double, placed, vs={"x": jax.ShapeDtypeStruct((3,), jnp.float32)}, compile=False
    )
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert check.jax_recompiled == jax_recompiles(double, on_device, jnp.zeros(3))


def test_an_uncommitted_array_stays_uncommitted() -> None:
    a, b = jnp.zeros(3), jnp.zeros(4)
    report = jaxexplain.diff(double, a, vs={"x": b}, compile=False)
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert report.cache_key_changes and {c.component for c in report.cache_key_changes} == {"shape"}


def test_inputs_committed_to_another_device_are_reproduced_there() -> None:
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    a = jax.device_put(jnp.zeros(3), devices[0])
    b = jax.device_put(jnp.zeros(3), devices[1])
    report = jaxexplain.diff(double, a, vs={"x": b}, compile=False)
    check = report.verification
    assert check is not None and check.checked and check.agrees
    assert check.jax_recompiled == jax_recompiles(double, a, b)
    assert check.jax_recompiled, "JAX itself no longer keys a committed array on its device"


TARGETS = "tests/targets/verifying.py"


def test_sides_that_make_different_arguments_static_are_not_called() -> None:
    x = {"x": ArraySpec((3,), "float32")}
    target, plan_a = prepare_target(f"{TARGETS}:scale_or_shift", {"scale": 2}, x, None)
    _, plan_b = prepare_target(f"{TARGETS}:scale_or_shift", {"shift": 2}, x, None)
    check = verify(target, plan_a, plan_b, predicted=True)
    assert check == Verification(
        False, "not checked: the two sides make different arguments static"
    )


@pytest.mark.parametrize(
    ("statics_a", "statics_b"),
    [({"scale": 2}, {"scale": 2, "shift": 1}), ({"scale": 2, "shift": 1}, {"scale": 2})],
)
def test_sides_whose_statics_nest_are_called(
    statics_a: dict[str, int], statics_b: dict[str, int]
) -> None:
    x = {"x": ArraySpec((3,), "float32")}
    target, plan_a = prepare_target(f"{TARGETS}:scale_or_shift", statics_a, x, None)
    _, plan_b = prepare_target(f"{TARGETS}:scale_or_shift", statics_b, x, None)
    check = verify(target, plan_a, plan_b, predicted=True)
    assert check.checked and check.jax_recompiled and check.agrees
    assert (check.cache_size_a, check.cache_size_b) == (1, 2)


def test_a_call_that_fails_before_running_is_not_judged() -> None:
    target, plan = prepare_target(
        f"{TARGETS}:traces_until_refused", {}, {"x": ArraySpec((3,), "float32")}, None
    )
    verifying.REFUSE_TO_TRACE["now"] = True
    try:
        check = verify(target, plan, plan, predicted=False)
    finally:
        verifying.REFUSE_TO_TRACE["now"] = False
    assert check == Verification(
        False,
        "not checked: calling the function on zeros raised RuntimeError: refusing to trace again",
        input_bytes=12,
    )


def test_a_prediction_jax_contradicts_is_reported_as_a_disagreement() -> None:
    target, plan_a = prepare_target(
        f"{TARGETS}:scale_or_shift", {}, {"x": ArraySpec((3,), "float32")}, None
    )
    _, plan_b = prepare_target(
        f"{TARGETS}:scale_or_shift", {}, {"x": ArraySpec((4,), "float32")}, None
    )
    check = verify(target, plan_a, plan_b, predicted=False)
    assert check.checked and check.jax_recompiled and check.agrees is False
    assert check.note == "called the jitted function on zeros: cache size 1 after A, 2 after B"


def test_input_bytes_count_every_traced_leaf_and_no_static() -> None:
    specs = {"x": ArraySpec((3,), "float32"), "y": ArraySpec((5,), "int8")}
    target, plan = prepare_target(f"{TARGETS}:weighted", {"scale": 2}, specs, None)
    check = verify(target, plan, plan, predicted=False)
    assert check.input_bytes == 3 * 4 + 5 * 1
    _, with_number = prepare_target(f"{TARGETS}:weighted", {"scale": 2}, {**specs, "y": 1.5}, None)
    assert verify(target, with_number, with_number, predicted=False).input_bytes == 3 * 4 + 8


def test_a_changed_static_is_called_with_its_own_value() -> None:
    x = {"x": ArraySpec((3,), "float32")}
    target, plan_a = prepare_target(f"{TARGETS}:scale_or_shift", {"scale": 2}, x, None)
    _, plan_b = prepare_target(f"{TARGETS}:scale_or_shift", {"scale": 3}, x, None)
    check = verify(target, plan_a, plan_b, predicted=True)
    assert check.checked is True and check.jax_recompiled and check.agrees


@pytest.mark.parametrize(("spec_a", "spec_b"), [("i32[3]", "f32[3]"), ("f32[3]", "f32[3]")])
def test_zeros_keep_the_dtype_of_the_report(spec_a: str, spec_b: str) -> None:
    report = jaxexplain.diff(double, spec_a, vs={"x": spec_b}, compile=False)
    check = report.verification
    assert check is not None and check.checked is True and check.agrees
    assert check.jax_recompiled == (spec_a != spec_b)


def test_numpy_inputs_keep_their_dtype_with_x64() -> None:
    jax.config.update("jax_enable_x64", True)  # restored by conftest
    a, b = np.ones(3, np.float32), np.ones(3, np.float64)
    report = jaxexplain.diff(double, a, vs={"x": b}, compile=False)
    check = report.verification
    assert check is not None and check.checked is True and check.agrees
    assert check.jax_recompiled == jax_recompiles(double, a, b) is True


def _reject_by_size(x: Any) -> None:
    raise ValueError(f"size {np.size(x)} rejected")


def rejects_every_size(x: Any) -> Any:
    jax.debug.callback(_reject_by_size, x)
    return x + 1


def test_both_sides_reasons_are_listed_once_each() -> None:
    report = jaxexplain.diff(rejects_every_size, "f32[3]", vs={"x": "f32[4]"}, compile=False)
    check = report.verification
    assert check is not None and check.checked is True
    assert check.note.endswith(
        "(both calls raised at run time, after JAX had made the cache entry: "
        "ValueError: size 3 rejected; ValueError: size 4 rejected)"
    )


def test_diff_with_a_new_style_key_argument_is_verified_against_jax() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"batch": '{"x": "f32[8,32]", "y": "i32[8]"}'},
        args_from=f"{TRAINING}:train_args",
        compile=False,
    )
    assert report.ok
    assert report.verification.checked, report.verification.note
    assert report.verification.jax_recompiled and report.verification.agrees
    assert str(jax.typeof(jax.random.key(0)).dtype) in {
        leaf.dtype for leaf in report.a.cache_key.traced
    }


def test_diff_of_a_vmapped_target_is_verified() -> None:
    report = diff_target(
        f"{WRAPPERS}:batched_loss",
        vs={"x": "f32[16,4]", "y": "f32[16]"},
        args_from=f"{WRAPPERS}:args",
        compile=False,
    )
    assert report.ok
    assert [(c.component, c.path) for c in report.cache_key_changes] == [
        ("shape", "x"),
        ("shape", "y"),
    ]
    assert report.verification.checked and report.verification.agrees


def test_a_diff_of_a_jitted_method_s_static_self_matches_jax_s_cache() -> None:
    instance = model.Model(2.0)
    report = jaxexplain.diff(
        instance.apply, jnp.ones(3), vs={"self": model.Model(3.0)}, compile=False
    )
    assert report.ok
    assert report.verification.checked, report.verification.note
    assert report.verification.jax_recompiled and report.verification.agrees


def test_a_python_int_that_becomes_a_jax_array_is_a_verified_recompile() -> None:
    """`step(x, 0)` then `step(x, jnp.asarray(1))`: one abstract value, two entries of JAX's
    cache; the diff predicts it from the leaf's placement and the call on zeros confirms it."""

    def shifted(x: Any, i: Any) -> Any:
        return x + i

    x = np.zeros(3, np.float32)
    report = jaxexplain.diff(shifted, x, 0, vs={"i": jnp.asarray(1)}, compile=False)
    assert report.recompiles and report.verified
    assert [(c.component, c.path) for c in report.cache_key_changes] == [("sharding", "i")]
    jitted = jax.jit(shifted)
    jitted(x, 0)
    jitted(x, jnp.asarray(1))
    assert jitted._cache_size() == 2
