"""From what the caller gave to a `Target` and its `CallPlan`: a TARGET string (or a factory
that returns the function) with its values and factory (the CLI, `trace_target`), or a Python
function with its arguments (`trace`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jaxexplain import _jax_compat
from jaxexplain.errors import UsageError
from jaxexplain.inputs import specs
from jaxexplain.inputs.caller import CLI, FUNCTION_API, Vocabulary
from jaxexplain.inputs.calling import CallPlan, plan_call, user_function
from jaxexplain.inputs.loader import arguments_from, function_from, load_target, one_target
from jaxexplain.report import Source
from jaxexplain.tracing import wrappers
from jaxexplain.tracing.stages import Target


def prepare_target(
    spec: str | None,
    static: Mapping[str, Any],
    traced: Mapping[str, Any],
    args_from: str | None,
    *,
    target_from: str | None = None,
    vocabulary: Vocabulary = CLI,
) -> tuple[Target, CallPlan]:
    """Loads the target and binds the given values (and a factory's) to its parameters.

    A static given as `specs.GIVEN` (`--static solver` alone) keeps the value the factory gives
    it, made static: an object no literal can spell.

    Args:
        spec: the TARGET (`pkg.mod:fn`, `file.py:fn`, `mod:Class.method`); None with
            `target_from`.
        static: static values by parameter name (already parsed).
        traced: traced values by parameter name (already parsed specs, literals, pytrees).
        args_from: `MOD:FACTORY` returning keyword arguments or an `(args, kwargs)` pair.
        target_from: `MOD:FACTORY` returning the function itself, or with its arguments
            (`(function, kwargs)`, `(function, args, kwargs)`), bound as `args_from`'s are
            and under them.
        vocabulary: the caller's words for the usage errors.

    Returns:
        The target and its call plan; raises `UsageError` for what cannot be bound.
    """
    one_target(spec, target_from, vocabulary)
    made, made_args, made_kwargs = _function_and_arguments(spec, target_from, vocabulary)
    fn, bound_args, bound_kwargs = _unbind_partial_of_jitted(made)
    target = Target.of(fn)
    positional: tuple[Any, ...] = made_args
    factory_kwargs: dict[str, Any] = dict(made_kwargs)
    if args_from:
        more_args, more_kwargs = arguments_from(args_from, vocabulary.factory(args_from))
        positional, factory_kwargs = (*positional, *more_args), {**factory_kwargs, **more_kwargs}
    given_statics = [k for k, v in static.items() if v is specs.GIVEN]
    static = {k: v for k, v in static.items() if v is not specs.GIVEN}
    _refuse_ungiven(given_statics, factory_kwargs, positional, vocabulary)
    positional_source: Source = "factory" if positional else "partial"
    positional = (*bound_args, *positional)
    sources: dict[str, Source] = dict.fromkeys(bound_kwargs, "partial")
    sources.update(dict.fromkeys(factory_kwargs, "factory"))
    sources.update(dict.fromkeys([*static, *traced], "cli"))
    factory_kwargs = {**bound_kwargs, **factory_kwargs}
    decorator_statics = target.decorator_statics()
    factory_static = {k: v for k, v in factory_kwargs.items() if k in decorator_statics}
    factory_traced = {k: v for k, v in factory_kwargs.items() if k not in factory_static}
    traced_values = {k: specs.to_abstract(v) for k, v in traced.items()}
    plan = plan_call(
        target.function,
        {**factory_static, **static},
        {**{k: v for k, v in factory_traced.items() if k not in static}, **traced_values},
        vocabulary=vocabulary,
        decorator_statics=decorator_statics,
        static_names=given_statics,
        source="cli",
        sources=sources,
        positional=positional,
        positional_source=positional_source,
    )
    _refuse_ungiven(
        [p.name for p in plan.params if p.name in given_statics and not p.passed],
        {},
        (),
        vocabulary,
    )
    return target, _as_library_calls(target, plan)


def _function_and_arguments(
    spec: str | None, target_from: str | None, vocabulary: Vocabulary
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """The object TARGET names, or the one a `--target-from` factory returns with the
    arguments it returns beside it."""
    if target_from:
        return function_from(target_from, vocabulary)
    assert spec is not None
    return load_target(spec).obj, (), {}


def target_name(spec: str | None, target_from: str | None, target: Target) -> str:
    """The report's target: TARGET as given, or the factory and the function it returned
    (`ppo.py:make_train() -> train`), the only names a closure has."""
    if spec:
        return spec
    made = user_function(target.function)
    return f"{target_from}() -> {getattr(made, '__name__', type(made).__name__)}"


def _refuse_ungiven(
    names: list[str], given: Mapping[str, Any], positional: tuple[Any, ...], vocabulary: Vocabulary
) -> None:
    """A static that keeps the value the factory gives NAME is a usage error where the factory
    gives none (its positional values are matched to names by binding them)."""
    missing = [n for n in names if n not in given]
    if missing and not positional:
        raise UsageError(
            f"{vocabulary.given(missing[0])} makes static the value {vocabulary.factory()} "
            f"gives {missing[0]}, but the factory gives no {' or '.join(missing)}: pass "
            f"{vocabulary.static(missing[0], 'VALUE')} with a Python literal, or return it "
            f"from the factory"
        )


def static_names(static_argnames: Iterable[str] | str) -> set[str]:
    """`static_argnames` as JAX takes it (one name or several) as a set of names."""
    return {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)


def function_plan(
    fn: Callable[..., Any], args: tuple[Any, ...], statics: set[str], kwargs: Mapping[str, Any]
) -> tuple[Target, CallPlan]:
    """Binds a Python API call's values: statics kept as given, spec strings made abstract arrays."""
    fn, args = _unbind_jitted_method(fn, args)
    fn, bound_args, bound_kwargs = _unbind_partial_of_jitted(fn)
    args = (*bound_args, *args)
    kwargs = {**bound_kwargs, **kwargs}
    target = Target.of(fn)
    decorator_statics = target.decorator_statics()
    static_everywhere = statics | set(decorator_statics)
    names = [
        p.name
        for p in inspect.signature(target.function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    positional = tuple(
        a if i < len(names) and names[i] in static_everywhere else specs.abstract_spec_strings(a)
        for i, a in enumerate(args)
    )
    plan = plan_call(
        target.function,
        {k: v for k, v in kwargs.items() if k in static_everywhere},
        {
            k: specs.abstract_spec_strings(v)
            for k, v in kwargs.items()
            if k not in static_everywhere
        },
        vocabulary=FUNCTION_API,
        decorator_statics=decorator_statics,
        static_names=statics,
        source="api",
        sources=_partial_sources(bound_kwargs, kwargs),
        positional=positional,
    )
    return target, _as_library_calls(target, plan)


def _as_library_calls(target: Target, plan: CallPlan) -> CallPlan:
    """The plan split as the target's library wrapper splits its arguments."""
    return wrappers.filter_jit_plan(plan) if target.library == wrappers.FILTER_JIT else plan


def _unbind_jitted_method(
    fn: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """`model.apply` of a jitted method is the jit wrapper with `self` as its first argument.

    The bound method forwards `__wrapped__` and the jit options of the wrapper, whose function
    still takes `self`: traced as it is, the first array would be taken for `self`.
    """
    if inspect.ismethod(fn) and _jax_compat.is_jitted(fn.__func__):
        return fn.__func__, (fn.__self__, *args)
    return fn, args


def _unbind_partial_of_jitted(
    fn: Any,
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """`partial(jitted_fn, n_layers=2)`: the jitted function and the arguments bound to it.

    Calling the partial calls the jit wrapper with those arguments, so JAX's cache is the
    wrapper's, keyed on them (statics by the decorator's `static_argnames` included); traced
    as a function of its own, the partial would be another jit around a nested `jit` call.
    """
    if wrappers.is_partial(fn) and (
        _jax_compat.is_jitted(fn.func) or wrappers.library_wrapper(fn.func)
    ):
        return fn.func, tuple(fn.args), dict(fn.keywords)
    return fn, (), {}


def _partial_sources(
    bound_kwargs: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> dict[str, Source]:
    """Keywords that come from the partial, unless the call gives them again."""
    return {k: "partial" for k, v in bound_kwargs.items() if kwargs.get(k) is v}


def name_of(fn: Callable[..., Any]) -> str:
    """`module:qualname` of the function under any jit wrapper: the report's target."""
    inner = _jax_compat.unwrap(fn)
    return f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', repr(inner))}"
