"""The points of a sweep from `--over`, `--budget` and `--predict` texts: lists, ranges and a
traced argument's dimension in braces; JAX-free, so a usage error costs no JAX import.

`--over n=1,2,4` (values), `n=1..64x2` (1, 2, 4, ..., 64), `n=8..64+8` (8, 16, ..., 64),
`n=1..5` (step 1), `x=f32[{8,16,32},128]` (a traced argument whose first dimension takes each
value; the braces take a range too). Several `--over` make a grid.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI
from jaxexplain.inputs.specs import parse_array_spec, parse_static_value, split_assignment
from jaxexplain.report import SweepPoint

# The figures a sweep measures at every point, in the order its table shows them.
FIGURES = (
    "equations",
    "equations_nested",
    "trace_seconds",
    "lower_seconds",
    "compile_seconds",
    "flops",
    "bytes_accessed",
    "argument_bytes",
    "output_bytes",
    "temp_bytes",
    "generated_code_bytes",
)
# Figures XLA gives: none of them without a compile.
COMPILE_FIGURES = FIGURES[3:]
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?:([x+])\s*(\d+))?\s*$")
_BRACES = re.compile(r"\{([^{}]*)\}")
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Axis:
    """One swept parameter: the text of each value, in order, and whether it is traced (every
    text an array spec) or static (every text a Python literal, a bare word a string)."""

    name: str
    texts: tuple[str, ...]
    traced: bool


def parse_over(texts: Sequence[str]) -> tuple[Axis, ...]:
    """Every `--over NAME=VALUES`; a name twice, or no `--over` at all, is a usage error."""
    if not texts:
        raise UsageError(
            "sweep needs at least one --over NAME=VALUES, for example --over n=1,2,4,8 or "
            "--over n=1..64x2 or --over x=f32[{8,16,32},128]"
        )
    axes: list[Axis] = []
    for text in texts:
        name, values = split_assignment(text, "--over")
        if any(axis.name == name for axis in axes):
            raise UsageError(f"--over {name}=... is given more than once")
        axes.append(parse_axis(name, values))
    if len(points(axes)) > MAX_POINTS:
        raise UsageError(f"the --over grid has more than {MAX_POINTS} points; sweep fewer values")
    return tuple(axes)


def parse_axis(name: str, text: str) -> Axis:
    """One `--over` value list: the texts it expands to, each checked now."""
    if _BRACES.search(text):
        values = _expand_braces(name, text)
    elif _RANGE.match(text):
        values = [str(v) for v in expand_range(name, text)]
    else:
        values = split_top_level(text)
    if not values or any(not v for v in values):
        raise UsageError(f"--over {name}={text}: an empty value; separate values with commas")
    specs = [parse_array_spec(v) is not None for v in values]
    if any(specs) and not all(specs):
        raise UsageError(
            f"--over {name}={text}: mixes array specs and other values; a traced argument "
            f"takes specs only (f32[8,128]), a static one literals only"
        )
    if not any(specs):
        for value in values:
            parse_static_value(value, CLI)
    return Axis(name, tuple(values), all(specs))


def expand_range(name: str, text: str) -> list[int]:
    """`A..B` (step 1), `A..BxK` (times K), `A..B+K` (plus K), B included where reached."""
    match = _RANGE.match(text)
    if match is None:
        raise UsageError(
            f"--over {name}: cannot read the range {text!r} (write 1..64x2 or 8..64+8)"
        )
    start, stop, how, step = int(match[1]), int(match[2]), match[3] or "+", int(match[4] or 1)
    if stop < start or step < 1 or (how == "x" and (step < 2 or start < 1)):
        raise UsageError(
            f"--over {name}={text}: a range runs upwards, A..BxK from A >= 1 with K >= 2, "
            f"A..B+K with K >= 1"
        )
    values = [start]
    while True:
        following = values[-1] * step if how == "x" else values[-1] + step
        if following > stop:
            return values
        values.append(following)
        if len(values) > MAX_POINTS:
            raise UsageError(f"--over {name}={text}: more than {MAX_POINTS} values")


def _expand_braces(name: str, text: str) -> list[str]:
    """`f32[{8,16},128]` -> `f32[8,128]`, `f32[16,128]`: one brace group, a list or a range."""
    groups = _BRACES.findall(text)
    if len(groups) != 1:
        raise UsageError(f"--over {name}={text}: one {{...}} group varies one dimension at a time")
    inner = groups[0]
    values = expand_range(name, inner) if _RANGE.match(inner) else split_top_level(inner)
    return [_BRACES.sub(str(value).strip(), text, count=1) for value in values]


def split_top_level(text: str) -> list[str]:
    """Splits at commas outside brackets, braces, parentheses and quotes: `f32[8,2],f32[4,2]`
    is two values, `(1, 2),(3, 4)` two tuples."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def refuse_overlap(axes: Sequence[Axis], given: Sequence[str]) -> None:
    """A swept name that `--static` or `--arg` also gives is a usage error: which one holds?"""
    both = [a.name for a in axes if a.name in given]
    if both:
        raise UsageError(
            f"{', '.join(both)} is given by --over and by --static/--arg; sweep it with --over alone"
        )


def points(axes: Sequence[Axis]) -> list[dict[str, str]]:
    """Every combination of the axes' values (the last axis varying fastest), as texts by name."""
    return [
        dict(zip([a.name for a in axes], combo, strict=True))
        for combo in itertools.product(*(a.texts for a in axes))
    ]


def figure_value(point: SweepPoint, figure: str) -> float | None:
    """One figure of a point: its own field, or XLA's memory analysis for the `*_bytes`."""
    if hasattr(point, figure):
        value = getattr(point, figure)
    else:
        value = getattr(point.memory, figure, None)
    return float(value) if isinstance(value, int | float) else None


def parse_budgets(texts: Sequence[str]) -> dict[str, float]:
    """`--budget FIGURE=LIMIT` by figure; an unknown figure or a limit that is no number is a
    usage error that lists the figures."""
    budgets: dict[str, float] = {}
    for text in texts:
        figure, limit = split_assignment(text, "--budget")
        if figure not in FIGURES:
            raise UsageError(
                f"--budget {text}: unknown figure {figure!r}; budget one of {', '.join(FIGURES)}"
            )
        budgets[figure] = _number(limit, f"--budget {text}")
    return budgets


def check_budgets(budgets: Mapping[str, float]) -> None:
    """Budgets name known figures only (`jaxexplain.sweep(budget=...)`)."""
    unknown = [figure for figure in budgets if figure not in FIGURES]
    if unknown:
        raise UsageError(
            f"unknown budget figure {', '.join(unknown)}; budget one of {', '.join(FIGURES)}"
        )


def parse_predictions(texts: Sequence[str], axes: Sequence[Axis]) -> dict[str, float]:
    """`--predict NAME=VALUE` by swept name: the value to extrapolate each fitted figure to."""
    names = [a.name for a in axes]
    predictions: dict[str, float] = {}
    for text in texts:
        name, value = split_assignment(text, "--predict")
        if name not in names:
            raise UsageError(
                f"--predict {text}: {name} is not swept; predict along {', '.join(names)}"
            )
        predictions[name] = _number(value, f"--predict {text}")
    return predictions


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: {text!r} is no number") from None


def static_value(text: str) -> Any:
    """A static axis value as the trace gets it (a Python literal; a bare word a string)."""
    return parse_static_value(text, CLI)
