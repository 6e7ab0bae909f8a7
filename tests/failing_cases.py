"""The corpus of failing functions (tests/user_modules/failing_*.py) that the tests of
jaxexplain/explain/ share: each failure, and what its explanation must say, exactly."""

from __future__ import annotations

import ast
import linecache
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import pytest

from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.explain import constructs
from jaxexplain.explain.constructs import Construct, Position, UserFunction
from jaxexplain.explain.dispatch import explain_failure
from jaxexplain.inputs.caller import CLI, FUNCTION_API, Caller
from jaxexplain.inputs.calling import plan_call
from jaxexplain.inputs.specs import ArraySpec
from jaxexplain.report import ErrorInfo
from jaxexplain.tracing.stages import Target, trace_plan

USER = Path(__file__).resolve().parent / "user_modules"
ROOT = USER.parent.parent
F8 = ArraySpec((8,), "float32")
F0 = ArraySpec((), "float32")


@dataclass(frozen=True)
class Case:
    """A failing target and what its explanation must say, exactly."""

    target: str
    static: dict[str, Any]
    traced: dict[str, Any]
    error: str
    file: str
    line_text: str
    construct: str
    depends_on: tuple[tuple[str, str], ...]
    verified: tuple[str, ...] = ()
    unverified: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.target.rpartition(":")[2].replace(".", "_")


def line_of(file: str, text: str) -> int:
    """The line number of the one line of `file` that contains `text`."""
    lines = (USER / file).read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if text in line]
    assert len(found) == 1, f"{text!r} occurs {len(found)} times in {file}"
    return found[0]


CF = "tests/user_modules/failing_control_flow.py:"
HP = "tests/user_modules/failing_helpers.py:"
CFF = "failing_control_flow.py"
LIB = "failing_helpers_lib.py"

CASES = [
    Case(
        CF + "branch_on_array",
        {"threshold": 0.5},
        {"x": F8},
        "ValueError",
        CFF,
        "    if x > threshold:",
        "if",
        (("x", "value"), ("threshold", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_scalar",
        {},
        {"x": F8, "n": 3},
        "TracerBoolConversionError",
        CFF,
        "if n > 0:\n        return x * n",
        "if",
        (("n", "value"),),
        ("make_static", "rewrite"),
    ),
    Case(
        CF + "branch_on_flag",
        {},
        {"x": F8, "flag": ArraySpec((), "bool")},
        "TracerBoolConversionError",
        CFF,
        "if flag:",
        "if",
        (("flag", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_assigns",
        {},
        {"x": F8, "y": F0},
        "TracerBoolConversionError",
        CFF,
        "if scaled.sum() > y:",
        "if",
        (("x", "value"), ("y", "value")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_with_statements",
        {},
        {"x": F8, "limit": 1.0},
        "TracerBoolConversionError",
        CFF,
        "if total > limit:",
        "if",
        (("x", "value"), ("limit", "value")),
        ("rewrite",),
    ),
    Case(
        CF + "conditional_expression",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "return x * 2 if x.mean() > 0 else -x",
        "ifexp",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "halve_while_large",
        {},
        {"x": F0},
        "TracerBoolConversionError",
        CFF,
        "while x > 1.0:",
        "while",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "loop_over_traced_count",
        {},
        {"x": F8, "n": 3},
        "TracerIntegerConversionError",
        CFF,
        "for i in range(n):",
        "for_range",
        (("n", "value"),),
        ("make_static", "rewrite"),
    ),
    Case(
        CF + "int_of_traced",
        {},
        {"x": F8, "n": 3},
        "ConcretizationTypeError",
        CFF,
        "jnp.zeros(int(n))",
        "int",
        (("n", "value"),),
        ("make_static",),
    ),
    Case(
        CF + "float_of_traced",
        {},
        {"x": F8},
        "ConcretizationTypeError",
        CFF,
        "float(x.sum())",
        "float",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "item_of_traced",
        {},
        {"x": F8},
        "ConcretizationTypeError",
        CFF,
        "x.mean().item()",
        "item",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "numpy_on_traced",
        {},
        {"x": F8},
        "TracerArrayConversionError",
        CFF,
        "return np.sin(x) + 1",
        "numpy",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "boolean_mask",
        {},
        {"x": F8},
        "NonConcreteBooleanIndexError",
        CFF,
        "x[x > 0].sum()",
        "bool_index",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_in_loop",
        {"steps": 3},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > i:",
        "if",
        (("x", "value"), ("steps", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_global",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > LIMIT:",
        "if",
        (("x", "value"), ("LIMIT", "global")),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_shape_and_data",
        {"scale": 2.0},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() * scale > size:",
        "if",
        (("x", "value"), ("x", "shape"), ("scale", "static")),
        ("rewrite",),
    ),
    Case(
        CF + "static_then_data",
        {},
        {"x": F8, "n": 2},
        "TracerBoolConversionError",
        CFF,
        "    if n > 0:\n        x = x * 2",
        "if",
        (("n", "value"),),
        (),
        ("make_static",),
    ),
    Case(
        CF + "carry_changes_shape",
        {},
        {"x": F8, "n": 2},
        "TracerIntegerConversionError",
        CFF,
        "for _ in range(n):\n        total = total + x",
        "for_range",
        (("n", "value"),),
        ("make_static",),
    ),
    Case(
        CF + "array_branch_in_loop",
        {"steps": 2},
        {"x": F8},
        "ValueError",
        CFF,
        "if x > i:",
        "if",
        (("x", "value"), ("steps", "static")),
        (),
        ("rewrite",),
    ),
    Case(
        CF + "elif_chain",
        {},
        {"x": F8},
        "ValueError",
        CFF,
        "if x > 1:",
        "if",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "assert_on_data",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        'assert x.sum() > 0, "positive"',
        "assert",
        (("x", "value"),),
    ),
    Case(
        CF + "filter_in_comprehension",
        {},
        {"x": ArraySpec((3,), "float32")},
        "TracerBoolConversionError",
        CFF,
        "if x[i] > 0])",
        "comprehension",
        (("x", "value"),),
    ),
    Case(
        CF + "branch_in_vmapped_lambda",
        {},
        {"x": ArraySpec((4, 3), "float32")},
        "TracerBoolConversionError",
        CFF,
        "lambda r: r if r.sum() > 0 else -r",
        "ifexp",
        (("x", "value"),),
        (),
        ("rewrite",),
    ),
    Case(
        CF + "branch_in_scan_body",
        {},
        {"x": ArraySpec((4, 3), "float32")},
        "TracerBoolConversionError",
        CFF,
        "if row.sum() > 0:",
        "if",
        (("x", "value"),),
    ),
    Case(
        CF + "Scaler.apply",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > self.scale:",
        "if",
        (("x", "value"),),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_constant",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if jnp.ones(3).sum() > 2:",
        "if",
        (),
        ("rewrite",),
    ),
    Case(
        CF + "branch_on_dtype_limit",
        {},
        {"x": F8},
        "TracerBoolConversionError",
        CFF,
        "if x.sum() > tiny:",
        "if",
        (("x", "value"), ("x", "dtype")),
        ("rewrite",),
    ),
    Case(
        HP + "calls_helper",
        {"limit": 1.0},
        {"x": F8, "unused": F0},
        "TracerBoolConversionError",
        LIB,
        "if v.sum() > limit:",
        "if",
        (("x", "value"), ("limit", "static")),
        ("rewrite",),
    ),
    Case(
        HP + "helper_in_loop",
        {"steps": 2},
        {"x": F8},
        "TracerBoolConversionError",
        LIB,
        "if v.sum() > limit:",
        "if",
        (("x", "value"), ("steps", "static")),
        ("rewrite",),
    ),
    Case(
        HP + "helper_with_count",
        {},
        {"x": F8, "k": 2},
        "TracerIntegerConversionError",
        LIB,
        "for _ in range(n):",
        "for_range",
        (("k", "value"),),
        ("make_static", "rewrite"),
    ),
]


def failing_line(case: Case) -> int:
    """The failing line: the first line of the (possibly multi-line) marker text."""
    text = (USER / case.file).read_text()
    assert text.count(case.line_text) == 1, case.line_text
    return text[: text.index(case.line_text)].count("\n") + 1


def explain_as(
    caller: Caller,
    fn: Callable[..., Any],
    static: Mapping[str, Any] | None = None,
    traced: Mapping[str, Any] | None = None,
) -> ErrorInfo:
    """The explanation `caller` gets of `fn`'s failure (an API caller through `jaxexplain.trace`),
    its values bound as that caller binds them (source "cli" or "api") and its decisions recorded
    while JAX traced it."""
    target = Target.of(fn)
    plan = plan_call(
        target.function,
        dict(static or {}),
        dict(traced or {}),
        decorator_statics=target.decorator_statics(),
        source=caller,
    )
    roles = {p.name: "static" if p.static else "traced" for p in plan.params if p.passed}
    recorder = DecisionRecorder(target.function, roles)
    with pytest.raises(Exception) as caught, recorder:
        trace_plan(target, plan)
    vocabulary = FUNCTION_API if caller == "api" else CLI
    return explain_failure(caught.value, target, plan, recorder, vocabulary)


def failing_position(fn: Callable[..., Any], *args: Any) -> Position:
    """The position of the instruction that failed in `fn` under jit, as Python reports it."""
    with pytest.raises(Exception) as caught:
        jax.jit(fn)(*args)
    frames = traceback.extract_tb(caught.value.__traceback__)
    (*_, frame) = [
        f for f in frames if f.name == fn.__name__ and f.filename == fn.__code__.co_filename
    ]
    assert frame.end_lineno is not None and frame.colno is not None
    assert frame.end_colno is not None
    return frame.lineno, frame.end_lineno, frame.colno, frame.end_colno


def failing_construct(
    fn: Callable[..., Any], *args: Any
) -> tuple[UserFunction, ast.AST, Construct]:
    """The user's function, the node its failing instruction belongs to, and the construct."""
    function = constructs.user_function(fn.__code__)
    assert function is not None
    position = failing_position(fn, *args)
    assert constructs.contains(function, position)
    node = constructs.node_at(function, position)
    assert node is not None
    line = linecache.getline(fn.__code__.co_filename, position[0])
    return function, node, constructs.classify(function, node, line)
