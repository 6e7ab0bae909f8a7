"""Binds given values to the target's parameters: roles, sources and the calling convention.

A `CallPlan` is what both sides of a diff share: which parameters are static or traced, where
each value came from, and how the call is made (JAX keys its cache on positional vs keyword).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, Vocabulary
from jaxexplain.report import Source
from jaxexplain.userfiles import is_user_file, short_path

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


def user_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function the user wrote under `functools.partial` and under wrappers that set
    `__wrapped__` (`jax.grad`, `jax.vmap`, `jax.checkpoint`, decorators): where it is defined."""
    seen: set[int] = set()
    while id(fn) not in seen:
        seen.add(id(fn))
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        else:
            break
    return fn


def wrapper_text(fn: Callable[..., Any]) -> str:
    """How `fn` wraps the user's function: `functools.partial(huber=bool)`, `a JAX
    transformation` (`jax.grad`, `jax.vmap`, ...), `timed in train.py` (a decorator); "" for
    the function itself."""
    if user_function(fn) is fn:
        return ""
    if isinstance(fn, functools.partial):
        bound = [f"<{len(fn.args)} positional>"] if fn.args else []
        bound += [f"{k}={type(v).__name__}" for k, v in fn.keywords.items()]
        return f"functools.partial({', '.join(bound)})"
    code = getattr(fn, "__code__", None)
    if code is None:
        return type(fn).__name__
    if not is_user_file(code.co_filename):
        return "a JAX transformation" if "jax" in code.co_filename else "a library wrapper"
    return f"{code.co_name} in {short_path(code.co_filename)}"


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
    vocabulary: Vocabulary = CLI,
    decorator_statics: tuple[str, ...] = (),
    static_names: Collection[str] = (),
    source: Source = "cli",
    sources: Mapping[str, Source] | None = None,
    positional: tuple[Any, ...] = (),
    positional_source: Source | None = None,
) -> CallPlan:
    """Binds named static and traced values (and leading positional ones) to `fn`'s parameters.

    Args:
        fn: the Python function (unwrapped from any jit).
        static: values of static parameters, by name.
        traced: values of traced parameters (abstract specs, arrays, pytrees), by name.
        vocabulary: how the caller gives values, for the usage errors.
        decorator_statics: parameter names the jit decorator already marks static.
        static_names: further parameters to make static, whether given by name or position.
        source: where the named values came from ("cli", "factory", "api").
        sources: per-name override of `source`.
        positional: values passed positionally before the named ones (library API calls).
        positional_source: where the positional values came from, when not `source`.

    Returns:
        The call plan; raises `UsageError` listing every missing or unknown parameter.
    """
    sig = signature_of(fn)
    sources = dict(sources or {})
    given = {**traced, **static}
    params: list[BoundParam] = []
    positional_left = list(positional)
    _check_unknown(sig, {**given, **dict.fromkeys(static_names)})
    missing: list[inspect.Parameter] = []
    by_position_so_far = takes_positions_only(fn)
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
            origin = (positional_source or origin) if positional_left else origin
            values = tuple(positional_left) + tuple(given.get(param.name, ()))
            positional_left = []
            params.append(
                BoundParam(param.name, param.kind, False, origin, values, bool(values), True)
            )
            continue
        if param.kind == inspect.Parameter.VAR_KEYWORD:
            extra = {k: v for k, v in given.items() if k not in sig.parameters}
            params.append(BoundParam(param.name, param.kind, False, origin, {}, False))
            params.extend(
                _keyword_extras(extra, static, decorator_statics, static_names, sources, source)
            )
            continue
        if positional_left and param.kind != inspect.Parameter.KEYWORD_ONLY:
            value = positional_left.pop(0)
            origin = positional_source or origin
            params.append(BoundParam(param.name, param.kind, is_static, origin, value, True, True))
            continue
        by_position_so_far = by_position_so_far and param.name in given
        if param.name in given:
            by_position = param.kind == inspect.Parameter.POSITIONAL_ONLY or (
                by_position_so_far and param.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
            )
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
        raise UsageError(missing_message(fn, missing, vocabulary))
    return CallPlan(tuple(params), decorator_statics)


def _keyword_extras(
    extra: Mapping[str, Any],
    static: Mapping[str, Any],
    decorator_statics: tuple[str, ...],
    static_names: Collection[str],
    sources: Mapping[str, Source],
    source: Source,
) -> list[BoundParam]:
    """Values that go into `**kwargs`, one keyword argument each, as JAX sees them (of kind
    VAR_KEYWORD, after the unpassed parameter that stands for `**kwargs` itself).

    jit's `static_argnames` applies to any name passed by keyword, `**kwargs` included
    (`jax.jit(net.apply, static_argnames="depth")` over `apply(params, *args, **kwargs)`), and
    each is its own cache-key entry; bundled into one traced dict, a static `depth` would be
    traced and fail, and neither its source nor a `--vs depth=...` could name it.
    """
    bound = []
    for name, value in extra.items():
        named_static = name in static or name in static_names
        origin = sources.get(name, source)
        if name in decorator_statics and not named_static:
            origin = "decorator"
        is_static = named_static or name in decorator_statics
        bound.append(BoundParam(name, inspect.Parameter.VAR_KEYWORD, is_static, origin, value))
    return bound


def takes_positions_only(fn: Callable[..., Any]) -> bool:
    """True for a wrapper such as `jax.grad(f)` or `jax.vmap(f)`: it shows `f`'s signature
    (through `__wrapped__`) but itself takes `*args` and reads positions (`argnums`,
    `in_axes`), so its leading arguments are passed positionally, up to the first not given.
    """
    if not hasattr(fn, "__wrapped__"):
        return False
    try:
        own = inspect.signature(fn, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = {p.kind for p in own}
    named = {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
    return inspect.Parameter.VAR_POSITIONAL in kinds and not kinds & named


def _check_unknown(sig: inspect.Signature, given: Mapping[str, Any]) -> None:
    accepts_kwargs = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [n for n in given if n not in sig.parameters]
    if unknown and not accepts_kwargs:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(sig.parameters), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(f"unknown parameter {', '.join(hints)}; {parameters_text(sig.parameters)}")


def parameters_text(names: Iterable[str]) -> str:
    """`the target's parameters are x, n`, or that it takes none."""
    listed = ", ".join(names)
    return f"the target's parameters are {listed}" if listed else "the target takes no parameters"


def missing_message(
    fn: Callable[..., Any], missing: list[inspect.Parameter], vocabulary: Vocabulary
) -> str:
    """One usage error naming every missing parameter, with an example of how to pass each
    in the caller's own terms (a flag on the command line, an argument in Python)."""
    examples = []
    for param in missing:
        if param.kind == inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.name == "self":
            examples.append(f"self is the instance of a jitted method: {vocabulary.instance}")
            continue
        examples.append(f"{vocabulary.traced(param.name)}  (or {vocabulary.static(param.name)})")
    names = ", ".join(p.name for p in missing)
    return (
        f"{getattr(fn, '__name__', 'the target')} needs a value for {names}; pass each required "
        f"parameter as a traced array spec or a static value, for example: " + "; ".join(examples)
    )
