"""A runtime type checker (beartype, jaxtyping) that rejects a tracer where a function is
annotated to take a Python number (`num_envs: int`): which function and parameter, the
annotation, the target's argument the tracer came from, and the static fix re-tracing proved.

jit calls the function with tracers, not with the Python numbers it would get without jit, so
the check fails before the function runs; the checker's message names the function and the
parameter, the call in the user's code names the argument expression.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from dataclasses import dataclass

from jaxexplain import _source_ast as sa
from jaxexplain.explain.concretization import origin_text, static_outlook, traced_params
from jaxexplain.explain.constructs import (
    Construct,
    FunctionNode,
    UserFunction,
    call_at,
    user_function,
)
from jaxexplain.explain.dependencies import dependencies
from jaxexplain.explain.frames import (
    Site,
    columns,
    error_info,
    frames_below_target,
    function_object,
    read_sites,
    user_frames,
)
from jaxexplain.explain.retrace import MAX_RETRACES, Budget, proven_first
from jaxexplain.explain.static_fixes import (
    make_static_suggestions,
    probe_statics,
    probed_dependencies,
)
from jaxexplain.explain.values import array_value_params, traced_scalars
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Dependency, ErrorInfo
from jaxexplain.tracing.stages import Target
from jaxexplain.userfiles import library_path

# A parameter that failed its check, as each checker words it (checked against jaxtyping 0.3
# and beartype 0.23); jaxtyping wraps the checker it is given (`typechecker=beartype`) and
# words the failure itself.
_JAXTYPING = re.compile(
    r"checking the parameters of (?P<function>\S+?)\.\n"
    r"The problem arose whilst typechecking parameter '(?P<parameter>\w+)'\.\n"
    r"Actual value: (?P<value>.*)\n"
    r"Expected type: (?P<hint>.+?)\.\n"
)
_BEARTYPE = re.compile(
    r"(?P<function>[\w.<>]+)\(\) parameter (?P<parameter>\w+)=(?P<value>.+?) "
    r"violates type hint (?P<hint>.+?), as "
)
_CHECKERS = {"jaxtyping": _JAXTYPING, "beartype": _BEARTYPE}
# `<class 'int'>`: how both checkers print a class given as the hint.
_CLASS_HINT = re.compile(r"<class '(?:builtins\.)?(?P<name>[\w.]+)'>")
# The Python number types a static argument can be and a tracer never is; the words around
# them in a hint that still allow only them (`int | None`, `typing.Optional[int]`).
_NUMBER_TYPES = ("int", "float", "bool", "complex")
_HINT_SYNTAX = frozenset({"None", "NoneType", "typing", "Optional", "Union"})

TYPE_CHECK = "type_check"


@dataclass(frozen=True)
class Rejection:
    """One parameter a runtime type checker rejected while jit traced."""

    checker: str
    # The checked function as the checker names it: its module, then its qualified name.
    function: str
    parameter: str
    hint: str
    # The Python number types the hint allows (`int` for `int | None`).
    numbers: tuple[str, ...]


def type_check_rejection(exc: BaseException) -> Rejection | None:
    """The parameter a runtime type checker rejected where its hint allows only Python
    numbers (which a tracer never is, and a static argument can be), read from its exception;
    None for any other exception, an array hint's rejection included (a wrong shape or dtype:
    no static choice gives an array)."""
    checker = type(exc).__module__.split(".")[0]
    pattern = _CHECKERS.get(checker)
    found = pattern.search(str(exc)) if pattern is not None else None
    if found is None:
        return None
    hint = _CLASS_HINT.sub(lambda m: m["name"], found["hint"])
    words = set(re.findall(r"\w+", hint)) - _HINT_SYNTAX
    numbers = tuple(n for n in _NUMBER_TYPES if n in words)
    if not numbers or words - set(numbers):
        return None
    return Rejection(checker, found["function"], found["parameter"], hint, numbers)


def explain_type_check(
    exc: BaseException, target: Target, plan: CallPlan, vocabulary: Vocabulary
) -> ErrorInfo:
    """The checked parameter got a tracer: from which of the target's arguments, and the static
    fix re-tracing proved. Shown as the checker's error when no traced argument reached it."""
    rejection = type_check_rejection(exc)
    assert rejection is not None
    base = dataclasses.replace(error_info(exc), raised_by=rejection.checker)
    checked = checked_function(rejection)
    annotated = annotation(checked, rejection.parameter) if checked else None
    caller, site, depends_on = _read_in_source(exc, target, plan, checked, rejection.parameter)
    budget = Budget(MAX_RETRACES)
    trials = None
    if not any(d.via == "value" for d in depends_on):
        trials = probe_statics(exc, target, plan, traced_scalars(plan), budget)
        depends_on = probed_dependencies(depends_on, trials)
    if not any(d.via == "value" for d in depends_on):
        return base
    construct = site.construct if site else None
    suggestions = make_static_suggestions(
        target, plan, depends_on, construct, exc, budget, trials, vocabulary=vocabulary
    )
    located = _located(base, caller, annotated)
    head = _head(rejection, annotated, located.file)
    expression = ast.unparse(construct.needed[0]) if construct else rejection.parameter
    traced = traced_params(plan, depends_on)
    parts = [
        origin_text(head, expression, traced, False, site.frame if site else None),
        *static_outlook(depends_on, plan, array_value_params(plan, depends_on), trials),
    ]
    return dataclasses.replace(
        located,
        depends_on=tuple(depends_on),
        suggestions=proven_first(suggestions),
        construct=TYPE_CHECK,
        explanation=" ".join(parts),
        column=columns(site)[0],
        end_column=columns(site)[1],
    )


def _read_in_source(
    exc: BaseException,
    target: Target,
    plan: CallPlan,
    checked: UserFunction | None,
    parameter: str,
) -> tuple[Site | None, Site | None, list[Dependency]]:
    """The user's frame that called the checked function (None where jit called it: it is
    the target), that call read as needing the rejected parameter's argument, and what the
    source shows it came from: the target's own parameter, or the argument followed back."""
    sites = read_sites(frames_below_target(user_frames(exc), target))
    if checked is not None and _is_target(checked, target):
        return None, None, _own_parameter(plan, parameter)
    caller = sites[-1] if sites else None
    site = _at_call(caller, checked, parameter) if caller else None
    if site is None:
        return caller, None, []
    return caller, site, dependencies(exc, target, plan, [*sites[:-1], site])


@dataclass(frozen=True)
class Annotation:
    """Where a parameter's annotation is written: `num_envs: int` at envs.py:12."""

    file: str
    line: int
    text: str


def checked_function(rejection: Rejection) -> UserFunction | None:
    """The checked function's `def`, found from the name the checker gives it: the longest
    prefix that is an imported module, then the classes and functions that enclose it."""
    parts = rejection.function.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        source = sa.load_source(file)
        node = _nested_def(source.tree, parts[cut:]) if source else None
        return UserFunction(source, node) if source and node else None
    return None


def _nested_def(scope: ast.AST, names: list[str]) -> FunctionNode | None:
    """The function at the path of `names` below `scope` (`Policy.act`, `make.<locals>.f`)."""
    wanted = [n for n in names if n != "<locals>"]
    for node in _scope_members(scope):
        if node.name != wanted[0]:
            continue
        if len(wanted) == 1:
            return node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        return _nested_def(node, wanted[1:])
    return None


def _scope_members(scope: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """The functions and classes a scope defines, in its body or in blocks of it (`if`, `try`),
    not inside a nested function or class."""
    found = []
    work = list(ast.iter_child_nodes(scope))
    while work:
        node = work.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append(node)
        elif isinstance(node, ast.stmt):
            work += ast.iter_child_nodes(node)
    return found


def annotation(function: UserFunction, parameter: str) -> Annotation | None:
    """The parameter as its `def` writes it, with its annotation."""
    arguments = function.node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    found = next((a for a in every if a.arg == parameter and a.annotation), None)
    if found is None:
        return None
    return Annotation(function.source.path, found.lineno, ast.unparse(found))


def _is_target(function: UserFunction, target: Target) -> bool:
    """The checked function is the target itself (`@jax.jit` over `@jaxtyped(...)`): jit
    called it with its own tracers."""
    code = getattr(_innermost(function_object(target.function)), "__code__", None)
    own = user_function(code) if code is not None else None
    return own is not None and own.node is function.node


def _innermost(fn: object) -> object:
    """The function under every decorator that kept it as `__wrapped__`."""
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__  # type: ignore[attr-defined]
    return fn


def _own_parameter(plan: CallPlan, name: str) -> list[Dependency]:
    params = {p.name: p for p in plan.params}
    if name not in params:
        return []
    return [Dependency(name, "static" if params[name].static else "value")]


def _at_call(site: Site, checked: UserFunction | None, parameter: str) -> Site | None:
    """The user's call of the checked function, read as needing the one argument expression
    the rejected parameter was given there; None where the call cannot be matched to it."""
    if checked is None or site.function is None or site.frame.position is None:
        return None
    call = call_at(site.function, site.frame.position)
    if call is None or sa.callee_name(call) != checked.node.name:
        return None
    bound, _ = sa.bind_call(checked.source, call, checked.node)
    argument = bound.get(parameter)
    if argument is None:
        return None
    return dataclasses.replace(site, construct=Construct(TYPE_CHECK, call, (argument,)))


def _head(rejection: Rejection, annotated: Annotation | None, shown_file: str | None) -> str:
    """`sample_envs is type-checked by jaxtyping when it is called, ...: its parameter
    `num_envs: int` (line 12) takes a Python int, but gets a tracer`."""
    name = rejection.function.split(".")[-1]
    written = f"`{annotated.text}`" if annotated else f"`{rejection.parameter}: {rejection.hint}`"
    where = f" ({_where_written(annotated, shown_file)})" if annotated else ""
    return (
        f"`{name}` is type-checked by {rejection.checker} when it is called, and jit calls it "
        f"with tracers: its parameter {written}{where} takes a Python "
        f"{' or '.join(rejection.numbers)}, but gets a tracer"
    )


def _where_written(annotated: Annotation, shown_file: str | None) -> str:
    """`line 12` in the file the error is shown at (the user's call); an installed library's file from its package
    on (`envlib/envs.py:12`); else the whole path."""
    if annotated.file == shown_file:
        return f"line {annotated.line}"
    return f"{library_path(annotated.file) or annotated.file}:{annotated.line}"


def _located(base: ErrorInfo, caller: Site | None, annotated: Annotation | None) -> ErrorInfo:
    """At the user's call of the checked function; at the annotation itself where jit called
    the checked function directly (the target is checked), as no line of the user's ran."""
    if caller is None and annotated is not None:
        return dataclasses.replace(
            base, file=annotated.file, line=annotated.line, source=annotated.text
        )
    return base
