"""Leaked tracers: a value traced inside a transformation and kept after it finished, found where
JAX raises, in a trace that closed over one, or in a module global a trace stored one in."""

from __future__ import annotations

import ast
import dataclasses
import linecache
import sys
import types
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain import _source_ast as sa
from jaxexplain.explain.frames import (
    Site,
    error_info,
    frames_below_target,
    function_object,
    line_text,
    read_sites,
    user_frames,
)
from jaxexplain.explain.wording import relative_path
from jaxexplain.report import ErrorInfo, Suggestion
from jaxexplain.tracing.stages import Stages, Target
from jaxexplain.userfiles import is_user_file


def explain_leak(exc: BaseException, target: Target) -> ErrorInfo:
    """A tracer from a finished transformation was used: where it escaped, where it was made."""
    sites = read_sites(frames_below_target(user_frames(exc), target))
    base = error_info(exc)
    site = sites[-1] if sites else None
    message = str(exc)
    created = _jax_compat.LEAK_CREATED.search(message)
    traced = _jax_compat.LEAK_TRACED.search(message)
    holder = _leak_holder(site) if site else None
    parts = [
        "A value traced inside a JAX transformation was kept after that transformation "
        "finished (stored in a list, a global or an attribute instead of returned)"
    ]
    if traced:
        parts[0] += f": it was made while tracing `{traced['fn']}` for {traced['transform']}"
    if created:
        parts.append(f"It was created at {relative_path(created['file'])}:{created['line']}.")
    if site:
        parts.append(
            f"It escaped into line {site.frame.line}"
            + (f" through `{holder}`" if holder else "")
            + ", which uses it outside the trace it belongs to."
        )
    advice = Suggestion(
        "advice",
        (),
        "Return the value from the transformed function instead of storing it: from a "
        "lax.scan body as part of the carry or the stacked outputs, from a vmapped function as "
        "an output; keep Python-side state out of traced functions.",
    )
    return dataclasses.replace(
        base,
        file=site.frame.file if site else base.file,
        line=site.frame.line if site else base.line,
        source=line_text(site.frame).strip() or None if site else base.source,
        suggestions=(advice,),
        construct="leaked_tracer",
        explanation=". ".join(p.rstrip(".") for p in parts) + ".",
        created_at=f"{created['file']}:{created['line']}" if created else None,
    )


def _leak_holder(site: Site) -> str | None:
    """The name in the failing expression whose value holds a tracer."""
    if site.construct is None:
        return None
    names = [r.name for expr in site.construct.needed for r in sa.reads(expr)]
    scope = {**site.frame.frame.f_globals, **site.frame.frame.f_locals}
    for name in dict.fromkeys(names):
        if name in scope and _holds_tracer(scope[name]):
            return name
    return None


def _holds_tracer(value: Any) -> bool:
    return bool(_tracers_in(value))


def _tracers_in(value: Any) -> list[Any]:
    try:
        leaves = jax.tree_util.tree_leaves(value)
    except Exception:
        return []
    return [leaf for leaf in leaves if isinstance(leaf, jax.core.Tracer)]


def leaked_tracer_error(target: Target, stages: Stages) -> ErrorInfo | None:
    """A successful trace that closed over a leaked tracer: calling it would raise.

    JAX stages a tracer from an earlier, finished trace as a constant of the new one, and only
    raises `UnexpectedTracerError` when the compiled function is called; jaxexplain never calls
    it, so it asks for the error JAX would raise then.
    """
    leaked = _jax_compat.leaked_tracers(stages.traced)
    if not leaked:
        return None
    used_at = _jax_compat.leaked_tracer_use(stages.traced)
    exc = _jax_compat.escaped_tracer_error(leaked[0])
    info = explain_leak(exc, target)
    if used_at is None:
        return info
    file, _, line = used_at.rpartition(":")
    return dataclasses.replace(
        info,
        file=file,
        line=int(line),
        source=linecache.getline(file, int(line)).strip() or None,
        explanation=info.explanation
        + f" It is used at {relative_path(file)}:{line}; the trace succeeds, but calling the "
        f"compiled function raises UnexpectedTracerError.",
    )


def tracers_in_user_globals(target: Target) -> dict[int, tuple[types.ModuleType, str]]:
    """Every tracer held by a module global of the user's code, by id, with where it is held.

    Taken before a trace and after it: only a tracer that is new afterwards was stored by this
    trace (a test or a notebook may hold tracers that earlier traces leaked). The tracers held
    stay alive while held, so their ids cannot be reused in between."""
    modules = [m for m in list(sys.modules.values()) if _is_user_module(m)]
    owner = sys.modules.get(getattr(function_object(target.function), "__module__", ""))
    if owner is not None and owner not in modules:
        modules.insert(0, owner)
    held: dict[int, tuple[types.ModuleType, str]] = {}
    for module in modules:
        for name, value in list(vars(module).items()):
            for tracer in _tracers_in(value if isinstance(value, list | tuple | dict) else [value]):
                held.setdefault(id(tracer), (module, name))
    return held


def tracer_in_user_globals(
    target: Target, before: dict[int, tuple[types.ModuleType, str]]
) -> tuple[types.ModuleType, str] | None:
    """A module global of the user's code that holds a tracer this trace stored there.

    JAX says nothing when `global cache; cache = x` keeps a tracer: the trace succeeds, and the
    error comes later, wherever the global is used. Only the user's own modules are searched.
    """
    after = tracers_in_user_globals(target)
    return next((where for key, where in after.items() if key not in before), None)


def _is_user_module(module: Any) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and file.endswith(".py") and is_user_file(file)


def global_leak_error(module: types.ModuleType, name: str) -> ErrorInfo:
    """The global that kept a tracer, at the line of the function that assigned it."""
    file = getattr(module, "__file__", "") or ""
    line = _global_assignment_line(file, name)
    where = f" at {relative_path(file)}:{line}" if line else ""
    return ErrorInfo(
        type="UnexpectedTracerError",
        message=f"the module global `{name}` holds a tracer after tracing",
        file=file or None,
        line=line,
        source=linecache.getline(file, line).strip() or None if line else None,
        suggestions=(
            Suggestion(
                "advice",
                (),
                f"Return the value from the traced function instead of storing it in `{name}`; "
                "keep Python-side state out of traced functions (jax.checking_leaks() shows "
                "every leak while tracing).",
            ),
        ),
        construct="leaked_tracer",
        explanation=(
            f"A value traced inside jit was stored in the global `{name}`{where}. The trace "
            f"succeeds, but `{name}` now holds a tracer of a finished trace: any later use of "
            "it raises UnexpectedTracerError, and it never holds the computed value."
        ),
        raised_by="jaxexplain",
    )


def _global_assignment_line(file: str, name: str) -> int | None:
    """The first line in a function that stores into the global `name`: an assignment under
    `global name`, or a store into it (`name["h"] = x`, `name.attr = x`, `name.append(x)`)."""
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except SyntaxError:
        return None
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        declared = any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(function))
        for node in ast.walk(function):
            if _stores_into(node, name, declared):
                return node.lineno  # type: ignore[attr-defined, no-any-return]
    return None


def _stores_into(node: ast.AST, name: str, declared: bool) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _root_name(node.func.value) == name
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return False
    for target in targets:
        if isinstance(target, ast.Name) and target.id == name and declared:
            return True
        if isinstance(target, ast.Subscript | ast.Attribute) and _root_name(target) == name:
            return True
    return False


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
