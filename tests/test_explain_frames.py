"""explain/frames.py: where a trace failed, read from real tracebacks: the user's frames below
the target, their source, the caret under the failing expression, who raised the error, and
the library line below the user's."""

from __future__ import annotations

import linecache
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxexplain.api import trace_target
from jaxexplain.explain import frames
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.renderers import render
from jaxexplain.report import TraceReport
from jaxexplain.tracing.stages import Target
from tests.failing_cases import USER, explain_as, line_of
from tests.targets.explain import failing as user
from tests.targets.failures import typechecked

FAILING = "tests.targets.failures.everyday"
SOLVERS = "tests.targets.science.solvers"

F8 = jax.ShapeDtypeStruct((8,), np.float32)


def raised(fn: Callable[..., Any], *args: Any) -> BaseException:
    with pytest.raises(Exception) as caught:
        jax.jit(fn)(*args)
    return caught.value


@pytest.fixture
def control_flow() -> Any:
    sys.path.insert(0, str(USER))
    import failing_control_flow

    return failing_control_flow


@pytest.fixture
def helpers() -> Any:
    sys.path.insert(0, str(USER))
    import failing_helpers

    return failing_helpers


def test_the_caret_of_a_bare_name_test_is_under_the_name(control_flow: Any) -> None:
    """Python 3.11 gives the jump of `if flag:` the span of the whole statement."""
    traced = {"x": F8, "flag": jax.ShapeDtypeStruct((), np.bool_)}
    error = explain_as("cli", control_flow.branch_on_flag, traced=traced)
    assert error.source == "if flag:"
    assert (error.column, error.end_column) == (3, 7)


def test_the_frames_from_the_target_down_are_read_as_source(helpers: Any) -> None:
    """The test's frame that called the jit is user code too, and above the target."""
    exc = raised(helpers.calls_helper, jnp.ones(8), 1.0, jnp.float32(0))
    everything = frames.user_frames(exc)
    assert everything[0].code is raised.__code__
    below = frames.frames_below_target(everything, Target.of(helpers.calls_helper))
    assert [f.code.co_name for f in below] == ["calls_helper", "clip_above"]
    sites = frames.read_sites(below)
    assert [s.function.node.name for s in sites if s.function] == ["calls_helper", "clip_above"]
    failing = sites[-1]
    assert failing.construct is not None and failing.construct.kind == "if"
    assert frames.line_text(failing.frame).strip() == "if v.sum() > limit:"


def test_a_lambdas_frame_folds_into_the_function_around_it(control_flow: Any) -> None:
    fn = control_flow.branch_in_vmapped_lambda
    exc = raised(fn, jnp.ones((4, 3)))
    sites = frames.read_sites(frames.frames_below_target(frames.user_frames(exc), Target.of(fn)))
    assert [s.function.node.name for s in sites if s.function] == ["branch_in_vmapped_lambda"]
    assert sites[-1].construct is not None and sites[-1].construct.kind == "ifexp"


def test_the_users_own_error_is_the_users_at_its_line() -> None:
    with pytest.raises(ValueError) as caught:
        jax.jit(user.raises_its_own_error)(jnp.ones(2))
    info = frames.error_info(caught.value)
    assert (info.type, info.message, info.raised_by) == (
        "ValueError",
        "the user's own check",
        "user",
    )
    source = Path(user.__file__).read_text().splitlines()
    assert info.file == user.__file__
    assert info.line == source.index('    raise ValueError("the user\'s own check")') + 1
    assert info.source == 'raise ValueError("the user\'s own check")'


def test_jaxs_error_is_jaxs_with_its_first_paragraph_at_the_users_line(control_flow: Any) -> None:
    exc = raised(control_flow.branch_on_array, jnp.ones(8), 0.5)
    info = frames.error_info(exc)
    assert info.raised_by == "jax"
    assert info.message == str(exc).strip().split("\n\n")[0].strip()
    assert info.line == line_of("failing_control_flow.py", "    if x > threshold:")


def test_a_librarys_error_names_the_library_and_its_line_below_the_users() -> None:
    exc = raised(user.reshapes_in_numpy, jnp.ones((2, 2)))
    assert frames.raised_by(exc) == "numpy"
    library = frames.library_site(exc)
    assert library is not None and library.package == "numpy"
    assert library.path.startswith("numpy/") and library.where == f"{library.path}:{library.line}"
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    assert library.source == linecache.getline(tb.tb_frame.f_code.co_filename, library.line).strip()
    assert frames.library_site(raised(user.raises_its_own_error, jnp.ones(2))) is None


def test_an_argument_error_points_at_the_def_line() -> None:
    exc = raised(user.loops_over, jnp.ones(2), 3)
    info = frames.at_definition(exc, Target.of(user.loops_over))
    assert info.line == user.loops_over.__code__.co_firstlineno
    assert info.source == "def loops_over(x, n):"


def test_the_users_own_exception_is_shown_as_theirs_not_jaxs() -> None:
    """`raise ValueError("unknown preconditioner 'amg'")` in solvers.py runs while jit traces;
    JAX's own errors alone are labelled JAX's."""
    from tests.targets.science import solvers

    a, b = jnp.zeros((4, 4)), jnp.zeros(4)
    try:
        solvers.cg_fixed.trace(a, b, preconditioner="amg")
    except ValueError as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        assert tb is not None and tb.tb_frame.f_code.co_filename.endswith("solvers.py")
    report = trace_target(
        f"{SOLVERS}:cg_fixed", {"preconditioner": "amg"}, {"a": a, "b": b}, compile=False
    )
    assert report.error is not None and report.error.raised_by == "user"
    where = f"at tests/targets/science/solvers.py:{report.error.line}: ValueError"
    text = " ".join(render(report, "text", color=False).split())
    assert f"raised by your code {where}: unknown preconditioner 'amg'" in text
    assert "JAX:" not in text
    html = render(report, "html")
    assert f"Raised by your code {where}: unknown preconditioner &#x27;amg&#x27;" in html
    assert TraceReport.from_dict(report.to_dict()) == report
    jax_error = trace_target(
        f"{FAILING}:take_prefix",
        traced={"x": ArraySpec((8,), "float32"), "n": ArraySpec((), "int32")},
        compile=False,
    )
    assert jax_error.error is not None and jax_error.error.raised_by == "jax"
    jax_text = " ".join(render(jax_error, "text", color=False).split())
    assert f"JAX: {' '.join(jax_error.error.message.split()[:4])}" in jax_text
    assert "raised by" not in jax_text


def test_an_error_of_a_librarys_class_is_the_librarys_where_it_cut_its_frames() -> None:
    """jaxtyping raises its TypeCheckError with its own frames removed: the traceback ends at
    the user's call, and the error is still jaxtyping's, not the user's."""
    with pytest.raises(TypeError) as caught:
        typechecked.rollout(jax.random.key(0), 3)
    last = caught.traceback[-1]
    assert Path(last.path) == Path(typechecked.__file__)
    assert frames.raised_by(caught.value) == "jaxtyping"
