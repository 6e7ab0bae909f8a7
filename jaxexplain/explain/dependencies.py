"""What the failing value depended on: the target's parameters (and data globals) the source
reads it from, checked against JAX's own account of which traced arguments it came from."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable

from jaxexplain import _jax_compat
from jaxexplain import _source_ast as sa
from jaxexplain.explain import constructs
from jaxexplain.explain.frames import Site, function_object
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Dependency
from jaxexplain.tracing.stages import Target


def dependencies(
    exc: BaseException, target: Target, plan: CallPlan, sites: list[Site]
) -> list[Dependency]:
    """The target's parameters (and globals) the failing value came from, and through what.

    The source analysis (`dependencies_in_source`) gives every kind of dependency; JAX's own
    account of which traced arguments a tracer came from, when its message has one for the
    target, decides the "value" ones.
    """
    found = {(d.name, d.via): d for d in dependencies_in_source(plan, sites)}
    jax_says = provenance(exc, target)
    if jax_says is not None:
        found = {k: d for k, d in found.items() if d.via != "value"}
        for name in jax_says:
            found.setdefault((name, "value"), Dependency(name, "value"))
    return in_signature_order(plan, found.values())


def dependencies_in_source(plan: CallPlan, sites: list[Site]) -> list[Dependency]:
    """What the failing expression reads, followed back through the user's source to the target.

    The failing expression's names are followed back through local assignments to the
    function's parameters; in a helper, each parameter is followed to the argument expression the
    caller passed for it, up to the target, whose parameters the plan classifies.
    """
    params = {p.name: p for p in plan.params}
    found: dict[tuple[str, str], Dependency] = {}
    for name, aspect in (uses_at_target(sites) if sites else None) or []:
        if aspect == "global":
            found.setdefault((name, "global"), Dependency(name, "global"))
        elif name in params:
            via = "static" if params[name].static else aspect
            found.setdefault((name, via), Dependency(name, via))
    return in_signature_order(plan, found.values())


def in_signature_order(plan: CallPlan, found: Iterable[Dependency]) -> list[Dependency]:
    order = {p.name: i for i, p in enumerate(plan.params)}
    vias = ("value", "shape", "dtype", "ndim", "static", "constant", "global")
    held = ("constant", "global")
    return sorted(
        found,
        key=lambda d: (d.via in held, order.get(d.name, len(order)), vias.index(d.via)),
    )


def uses_at_target(sites: list[Site]) -> list[tuple[str, str]] | None:
    """(name, aspect) pairs at the target's frame: its parameters, and data globals (aspect
    "global"); a bound method's `self` is a parameter the plan does not have, and drops out."""
    last = sites[-1]
    if last.function is None or last.construct is None or last.node is None:
        return None
    uses = constructs.trace_back(last.function, last.construct.needed, last.node)
    free: list[tuple[str, str]] = []
    for caller, callee in zip(reversed(sites[:-1]), reversed(sites[1:]), strict=True):
        free += _data_globals(uses, callee)
        mapped = _map_to_caller(uses, caller, callee)
        if mapped is None:
            return None
        uses = mapped
    free += _data_globals(uses, sites[0])
    params = set(sites[0].function.parameters) if sites[0].function else set()
    return [(u.name, u.aspect) for u in uses if u.name in params] + free


def _data_globals(uses: list[constructs.NameUse], site: Site) -> list[tuple[str, str]]:
    """Free names that are module-level data (modules, functions and classes are not)."""
    params = set(site.function.parameters) if site.function else set()
    found = []
    for use in uses:
        if use.name in params or use.name not in site.frame.frame.f_globals:
            continue
        value = site.frame.frame.f_globals[use.name]
        if not (isinstance(value, types.ModuleType | type) or callable(value)):
            found.append((use.name, "global"))
    return found


def _map_to_caller(
    uses: list[constructs.NameUse], caller: Site, callee: Site
) -> list[constructs.NameUse] | None:
    """The callee's parameters, followed to the caller's argument expressions and their names;
    a parameter the call does not pass by name or position (a call through `jax.vmap` or
    `lax.scan`, a `*args`) may come from any of the call's arguments. A callee that a library
    called back gets what the library computed (diffrax's step time `t`, not `y0`): not
    followed."""
    if caller.function is None or callee.function is None or caller.frame.position is None:
        return None
    if callee.frame.called_through:
        return None
    call = constructs.call_at(caller.function, caller.frame.position)
    if call is None:
        return None
    bound, _ = sa.bind_call(callee.function.source, call, callee.function.node)
    direct = sa.callee_name(call) == callee.frame.code.co_name
    if not direct and not bound:
        return None
    every_argument = [*call.args, *(k.value for k in call.keywords)]
    mapped: list[constructs.NameUse] = []
    for use in uses:
        if use.name not in callee.function.parameters:
            continue
        argument = bound.get(use.name) if direct else None
        arguments = [argument] if argument is not None else every_argument
        mapped += constructs.trace_back(caller.function, arguments, call, use.via)
    return list(dict.fromkeys(mapped))


def provenance(exc: BaseException, target: Target) -> list[str] | None:
    """The target's traced arguments JAX says the tracer came from (None if it says nothing).

    An empty list means JAX says no argument: the tracer came from JAX operations on constants.
    JAX says this only when the tracer belongs to the trace of the target itself; a helper under
    its own `jax.jit` or a `lax.scan` body names that function's own arguments instead.
    """
    match = _jax_compat.PROVENANCE.search(str(exc))
    code = getattr(function_object(target.function), "__code__", None)
    if match is None or code is None:
        return None
    if match["fn"] != code.co_name or int(match["line"]) != code.co_firstlineno:
        return None
    if match["constants"]:
        return []
    names = re.split(r", and |, | and ", match["names"])
    return list(dict.fromkeys(re.match(r"\w+", n)[0] for n in names if re.match(r"\w+", n)))  # type: ignore[index]
