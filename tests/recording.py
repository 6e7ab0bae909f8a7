"""Shared by the decision tests: real JAX traces recorded by a DecisionRecorder, and the `# D:name`
markers of the target files that name each decision's line."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.report import Decision

USER_MODULES = Path(__file__).resolve().parent / "user_modules"
X = jax.ShapeDtypeStruct((4, 8), "float32")
W = jax.ShapeDtypeStruct((8, 8), "float32")
PARAMS = {"layers": [W, W]}


def user_module(name: str) -> Any:
    """A target module of tests/user_modules, imported fresh (conftest forgets it after)."""
    sys.path.insert(0, str(USER_MODULES))
    return importlib.import_module(name)


def markers() -> dict[tuple[str, int], str]:
    """(file name, line) -> marker name, from the `# D:name` comments of the target files."""
    found = {}
    for path in USER_MODULES.glob("decisions_*.py"):
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            match = re.search(r"# D:(\w+)", text)
            if match:
                found[(path.name, number)] = match.group(1)
    return found


def marker_line(name: str) -> int:
    return next(line for (_, line), marker in markers().items() if marker == name)


def roles_of(function: Callable[..., Any], static: dict[str, Any]) -> dict[str, str]:
    """The parameter roles jaxexplain gives a function called with `static` as statics."""
    return {
        name: "static"
        if name in static
        else "default"
        if parameter.default is not parameter.empty
        else "traced"
        for name, parameter in inspect.signature(function).parameters.items()
    }


def record(function: Callable[..., Any], *args: Any, **static: Any) -> DecisionRecorder:
    """Traces `function` with `static` as static keyword arguments, inside a recorder."""
    jax.clear_caches()  # a cached trace would not run the function again
    with DecisionRecorder(function, roles_of(function, static)) as recorder:
        jax.jit(function, static_argnames=tuple(static)).trace(*args, **static)
    return recorder


def summary(decisions: tuple[Decision, ...]) -> list[tuple[str, str, tuple[str | int, ...]]]:
    """(marker, kind, outcomes) per decision, in the recorder's order."""
    names = markers()
    return [(names[(Path(d.file).name, d.line)], d.kind, d.outcomes) for d in decisions]


def dependencies(decisions: tuple[Decision, ...]) -> dict[str, list[tuple[str, str]]]:
    """marker -> (name, via) of each dependency of the decision on that line."""
    names = markers()
    return {
        names[(Path(d.file).name, d.line)]: [(x.name, x.via) for x in d.depends_on]
        for d in decisions
    }
