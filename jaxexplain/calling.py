"""Binds given values to the target's parameters: roles, sources and the calling convention.

A `CallPlan` is what both sides of a diff share: which parameters are static or traced, where
each value came from, and how the call is made (JAX keys its cache on positional vs keyword).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jaxexplain.errors import UsageError
from jaxexplain.report import Source

POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)


@dataclass(frozen=True)
class BoundParam:
    """One parameter with its value (None for an unpassed default) and role."""

    name: str
    kind: inspect._ParameterKind
    static: bool
    source: Source
    value: Any = None
    passed: bool = True
    positional: bool = False


@dataclass(frozen=True)
class CallPlan:
    """How the target will be called: every parameter, in signature order."""

    params: tuple[BoundParam, ...]
    decorator_statics: tuple[str, ...] = ()

    @property
    def static_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.static and p.passed)

    @property
    def static_argnums(self) -> tuple[int, ...]:
        """Indices of static arguments passed positionally (positional-only parameters)."""
        positional = [p for p in self.params if p.passed and p.positional]
        return tuple(i for i, p in enumerate(positional) if p.static)

    def call_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments, as the jitted function will receive them."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p in self.params:
            if not p.passed:
                continue
            if p.kind == inspect.Parameter.VAR_POSITIONAL:
                args.extend(p.value)
            elif p.kind == inspect.Parameter.VAR_KEYWORD:
                kwargs.update(p.value)
            elif p.positional:
                args.append(p.value)
            else:
                kwargs[p.name] = p.value
        return tuple(args), kwargs

    def with_values(self, values: Mapping[str, Any], static: set[str] | None = None) -> CallPlan:
        """A copy with some values replaced (and, optionally, other parameters made static)."""
        names = {p.name for p in self.params}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UsageError(
                f"unknown parameter {', '.join(unknown)}; the target takes {', '.join(names)}"
            )
        params = []
        for p in self.params:
            if p.name in values:
                p = replace(p, value=values[p.name], passed=True)
            if static is not None and p.name in static:
                p = replace(p, static=True)
            params.append(p)
        return replace(self, params=tuple(params))


def signature_of(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot read the signature of {fn!r}: {exc}") from exc


def plan_call(
    fn: Callable[..., Any],
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    *,
    decorator_statics: tuple[str, ...] = (),
    static_names: Collection[str] = (),
    source: Source = "cli",
    sources: Mapping[str, Source] | None = None,
    positional: tuple[Any, ...] = (),
) -> CallPlan:
    """Binds named static and traced values (and leading positional ones) to `fn`'s parameters.

    Args:
        fn: the Python function (unwrapped from any jit).
        static: values of static parameters, by name.
        traced: values of traced parameters (abstract specs, arrays, pytrees), by name.
        decorator_statics: parameter names the jit decorator already marks static.
        static_names: further parameters to make static, whether given by name or position.
        source: where the named values came from ("cli", "factory", "api").
        sources: per-name override of `source`.
        positional: values passed positionally before the named ones (library API calls).

    Returns:
        The call plan; raises `UsageError` listing every missing or unknown parameter.
    """
    sig = signature_of(fn)
    sources = dict(sources or {})
    given = {**traced, **static}
    params: list[BoundParam] = []
    positional_left = list(positional)
    _check_unknown(sig, given)
    missing: list[inspect.Parameter] = []
    for param in sig.parameters.values():
        is_static = (
            param.name in static or param.name in decorator_statics or param.name in static_names
        )
        origin: Source = sources.get(param.name, source)
        if (
            param.name in decorator_statics
            and param.name not in static
            and param.name not in static_names
        ):
            origin = "decorator"
        if param.kind == inspect.Parameter.VAR_POSITIONAL:
            values = tuple(positional_left) + tuple(given.get(param.name, ()))
            positional_left = []
            params.append(
                BoundParam(param.name, param.kind, False, origin, values, bool(values), True)
            )
            continue
        if param.kind == inspect.Parameter.VAR_KEYWORD:
            extra = {k: v for k, v in given.items() if k not in sig.parameters}
            params.append(BoundParam(param.name, param.kind, False, origin, extra, bool(extra)))
            continue
        if positional_left and param.kind != inspect.Parameter.KEYWORD_ONLY:
            value = positional_left.pop(0)
            params.append(BoundParam(param.name, param.kind, is_static, origin, value, True, True))
            continue
        if param.name in given:
            by_position = param.kind == inspect.Parameter.POSITIONAL_ONLY
            params.append(
                BoundParam(
                    param.name, param.kind, is_static, origin, given[param.name], True, by_position
                )
            )
        elif param.default is not inspect.Parameter.empty:
            params.append(BoundParam(param.name, param.kind, True, "default", param.default, False))
        else:
            missing.append(param)
    if positional_left:
        raise UsageError(
            f"{fn.__name__} takes fewer positional arguments than the {len(positional)} given"
        )
    if missing:
        raise UsageError(missing_message(fn, missing))
    return CallPlan(tuple(params), decorator_statics)


def _check_unknown(sig: inspect.Signature, given: Mapping[str, Any]) -> None:
    accepts_kwargs = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [n for n in given if n not in sig.parameters]
    if unknown and not accepts_kwargs:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(sig.parameters), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(
            f"unknown parameter {', '.join(hints)}; the target's parameters are "
            f"{', '.join(sig.parameters)}"
        )


def missing_message(fn: Callable[..., Any], missing: list[inspect.Parameter]) -> str:
    """One usage error naming every missing parameter, with an example of how to pass each."""
    examples = []
    for param in missing:
        if param.kind == inspect.Parameter.VAR_POSITIONAL:
            continue
        examples.append(f"--arg {param.name}=f32[8,128]  (or --static {param.name}=3)")
    names = ", ".join(p.name for p in missing)
    return (
        f"{getattr(fn, '__name__', 'the target')} needs a value for {names}; pass each required "
        f"parameter as a traced array spec or a static value, for example: " + "; ".join(examples)
    )
