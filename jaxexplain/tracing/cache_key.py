"""The jit cache key of one call as named components, plus one digest over all of them.

JAX's C++ jit cache keys a call on: the function and jit options, each static argument (type,
hash and `==`), each traced leaf's shape, dtype, weak type and, where committed, sharding, the
pytree structure of the traced arguments (which includes keyword names), and the trace
context (x64, default device, matmul precision, ...). Equal digests mean a cache hit.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import sys
import time
import types
from typing import Any

import jax

from jaxexplain import _jax_compat
from jaxexplain.inputs.calling import CallPlan, user_function, wrapper_text
from jaxexplain.renderers.words import slow_hash_text, stale_entry_text, unfrozen_dataclass_text
from jaxexplain.report import CacheKey, IdentityPart, StaticKey, TracedLeaf
from jaxexplain.tracing.key_compare import ADDRESS, digest_of
from jaxexplain.tracing.shardings import placement_of, placement_options
from jaxexplain.tracing.wrappers import FilterSplit

MAX_VALUE_REPR = 300


def static_repr(value: Any, keep_addresses: bool = False) -> str:
    """A bounded repr of a static value, for reports and for comparing keys.

    JAX compares a value-hashed static by `==`, so equal values must read equal: one that keeps
    Python's default repr (`<SGD object at 0x...>`, say an optimizer passed as a static `self`)
    reads by its attributes, and memory addresses are dropped. A value compared by identity
    (`keep_addresses`) keeps its addresses, which are then exactly what tells entries apart."""
    return _bounded(_full_repr(value, keep_addresses))


def static_value_digest(value: Any, keep_addresses: bool = False) -> str:
    """A hash of the whole repr `static_repr` bounds: two long statics that differ past the
    shown part (equinox's static tuple holding a float, a config with many fields) must not
    read as one key."""
    return hashlib.sha256(_full_repr(value, keep_addresses).encode()).hexdigest()[:16]


def _full_repr(value: Any, keep_addresses: bool) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        return _unreadable(value, exc)
    if keep_addresses or uses_identity_hash(value):
        return text
    if type(value).__repr__ is object.__repr__ and isinstance(
        getattr(value, "__dict__", None), dict
    ):
        kind = type(value)
        attributes = " ".join(f"{k}={static_repr(v)}" for k, v in vars(value).items())
        text = f"<{kind.__module__}.{kind.__qualname__}{' ' if attributes else ''}{attributes}>"
    return ADDRESS.sub("", text)


def _unreadable(value: Any, exc: Exception) -> str:
    """A static whose `__repr__` raises: named by its type and, since its value cannot be read,
    its identity, so that two such statics never read as one key (JAX may still find them
    equal: then a diff predicts a recompile that calling JAX refutes, never the reverse)."""
    kind = type(value)
    return (
        f"<{kind.__module__}.{kind.__qualname__} object {id(value):#x}; its repr raised "
        f"{type(exc).__name__}>"
    )


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."


def uses_identity_hash(value: Any) -> bool:
    """True when `value` hashes by identity: every new object is a new cache entry. A
    singleton (None, Ellipsis) hashes by identity too, but there is never a new one."""
    if isinstance(value, SINGLETONS):
        return False
    return type(value).__hash__ is object.__hash__ and type(value).__eq__ is object.__eq__


# Types with one object each: compared by identity, yet every call passes that same object.
SINGLETONS = (type(None), type(Ellipsis), type(NotImplemented))
PLAIN_VALUES = (bool, int, float, complex, str, bytes, *SINGLETONS)

# Parts of a static value walked to find what `==` compares by identity; past this many the
# walk stops (a static config is small; a huge static is reported by its hash time instead).
MAX_PARTS_WALKED = 2000


def identity_parts(name: str, value: Any) -> tuple[IdentityPart, ...]:
    """Every part of a static value that `==` compares by identity, by path from `name`.

    JAX finds a static's entry by hash and confirms it with `==`. Tuples (named tuples
    included), lists, dicts, sets and dataclasses compare element by element; a function, a
    `functools.partial`, a bound method (by its object) or an object without `__eq__` compares
    by identity, and so does a NaN float (`nan != nan`). A type with its own `__eq__` is trusted
    to compare by value."""
    found: list[IdentityPart] = []
    budget = [MAX_PARTS_WALKED]
    _walk_identity(name, value, found, budget)
    return tuple(found)


def _walk_identity(path: str, value: Any, found: list[IdentityPart], budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0 or (isinstance(value, PLAIN_VALUES) and not _is_nan(value)):
        return
    children = static_children(value)
    if children is not None:
        for suffix, child in children:
            _walk_identity(path + suffix, child, found, budget)
    elif isinstance(value, types.MethodType):
        found.append(IdentityPart(path, _identity_what(value), hex(id(value.__self__))))
    elif type(value).__eq__ is object.__eq__ or _is_nan(value):
        found.append(IdentityPart(path, _identity_what(value), hex(id(value))))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def static_children(value: Any) -> list[tuple[str, Any]] | None:
    """The parts `==` compares a structured static by, each with its path suffix; None for a
    value that is compared as a whole."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            (f".{f.name}", getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare and hasattr(value, f.name)
        ]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [(f".{name}", getattr(value, name)) for name in value._fields]
    if isinstance(value, (tuple, list)):
        return [(f"[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return [(f"[{key!r}]", item) for key, item in value.items()]
    if isinstance(value, (frozenset, set)):
        return [(f"{{{i}}}", item) for i, item in enumerate(value)]
    return None


def _identity_what(value: Any) -> str:
    """What an identity-compared part is, in the words a user would recognise it by."""
    if _is_nan(value):
        return "a NaN float (nan != nan)"
    if isinstance(value, types.MethodType):
        owner = type(value.__self__).__qualname__
        return f"a method bound to a {owner} object, compared by that object's identity"
    if isinstance(value, functools.partial):
        return f"a functools.partial of {_qualname(value.func)}"
    if isinstance(value, types.FunctionType):
        qualname = value.__qualname__
        if "<lambda>" in qualname:
            return f"a lambda defined in {value.__module__}"
        outer, local, _ = qualname.rpartition(".<locals>.")
        if local:
            return f"a function made by {value.__module__}.{outer}"
        return f"the function {value.__module__}.{qualname}"
    kind = type(value)
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    if _defined_at_module_level(value):
        return f"the function {value.__module__}.{value.__qualname__}"
    return f"a {kind.__module__}.{kind.__qualname__} object without __eq__"


def _defined_at_module_level(value: Any) -> bool:
    """A callable its module holds under its own name (a jitted `jnp.tanh`, a decorated
    function): the same object on every call, as a plain module-level function is."""
    module = sys.modules.get(getattr(value, "__module__", None) or "")
    qualname = getattr(value, "__qualname__", None)
    if module is None or not isinstance(qualname, str) or "<locals>" in qualname:
        return False
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found is value


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def rebuilt_each_call(part: IdentityPart) -> bool:
    """Parts a program typically makes anew on every call (closures, lambdas, partials, bound
    methods, instances); a module-level function or a class is the same object every time."""
    return not part.what.startswith(("the function ", "the class "))


def identity_warning(name: str, value: Any, parts: tuple[IdentityPart, ...]) -> str | None:
    """The warning for a static compared by identity in parts a program rebuilds, with the fix
    that fits where the value comes from."""
    rebuilt = [p for p in parts if rebuilt_each_call(p)]
    if not rebuilt:
        return None
    shown = "; ".join(f"{p.path} is {p.what}" for p in rebuilt[:3])
    more = f" (+{len(rebuilt) - 3} more)" if len(rebuilt) > 3 else ""
    kind = type(value).__qualname__
    text = (
        f"static argument {name} (a {kind}) is compared by identity in these parts: {shown}"
        f"{more}. jit will recompile on every call where one of them is another object, even "
        f"one built with the same settings"
    )
    if type(value).__module__.partition(".")[0] == "optax":
        return text + (
            "; build the optimizer once outside the step and pass that same object, or use "
            "optax.inject_hyperparams for a changing learning rate"
        )
    return text + (
        "; build it once outside the jitted call and pass the same object, or give it "
        "value-based __eq__ and __hash__ (for example @dataclass(frozen=True) over plain fields)"
    )


# A static whose hash takes longer than this is named: jit hashes it on every call, and a whole
# dispatch of a jitted call on its fast path takes about this long or less.
SLOW_HASH_SECONDS = 0.0001
HASH_TIMINGS = 3  # the fastest of a few hashes: a busy machine only ever slows one down
MAX_FIELDS_MUTATED = 32


def static_key(name: str, value: Any) -> StaticKey:
    """A static argument as the cache compares it: type, hash (timed: jit hashes it on every
    call) and `==`, by value or, in the parts listed, by identity; with the traps it sets."""
    hashed, hash_seconds = timed_hash(value)
    parts = identity_parts(name, value)
    warnings = [identity_warning(name, value, parts), *trap_warnings(name, value, hash_seconds)]
    kind = type(value)
    return StaticKey(
        name=name,
        value=static_repr(value, keep_addresses=bool(parts)),
        value_digest=static_value_digest(value, keep_addresses=bool(parts)),
        type=f"{kind.__module__}.{kind.__qualname__}"
        if kind.__module__ != "builtins"
        else kind.__qualname__,
        hash=hashed,
        compared_by="identity" if parts else "value",
        identity_parts=parts,
        hash_seconds=hash_seconds,
        warnings=tuple(w for w in warnings if w),
    )


def timed_hash(value: Any) -> tuple[int | None, float]:
    """The value's hash (None when it has none) and the fastest of a few timed hashes."""
    hashed: int | None = None
    fastest = float("inf")
    for _ in range(HASH_TIMINGS):
        started = time.perf_counter()
        try:
            hashed = hash(value)
        except Exception:
            return None, time.perf_counter() - started
        fastest = min(fastest, time.perf_counter() - started)
    return hashed, fastest


def trap_warnings(name: str, value: Any, hash_seconds: float) -> list[str]:
    """The statics traps this very object sets, each found by trying it: a hash slower than
    SLOW_HASH_SECONDS, fields that a mutated copy changes while hash and == still say equal,
    and a dataclass whose fields can be assigned."""
    warnings = []
    if hash_seconds > SLOW_HASH_SECONDS:
        warnings.append(slow_hash_text(name, value, hash_seconds, SLOW_HASH_SECONDS))
    if uses_identity_hash(value) or isinstance(value, PLAIN_VALUES) or not is_hashable(value):
        return warnings
    mutable = assignable_fields(value)
    stale = [field for field in mutable if still_equal_when_changed(value, field)]
    if stale:
        warnings.append(stale_entry_text(name, type(value).__qualname__, stale))
    if mutable and dataclasses.is_dataclass(value):
        warnings.append(unfrozen_dataclass_text(name, type(value).__qualname__))
    return warnings


def _field_names(value: Any) -> list[str]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f.name for f in dataclasses.fields(value)]
    attributes = getattr(value, "__dict__", None)
    return list(attributes) if isinstance(attributes, dict) else []


_CHANGED = object()  # what a field of a copy is set to: equal to nothing, hashable


def _changed_copy(value: Any, field: str) -> Any:
    """A shallow copy of `value` with `field` assigned, or None where it cannot be assigned
    (a frozen dataclass, a property without setter, a copy that is the same object)."""
    try:
        twin = copy.copy(value)
        if twin is value:
            return None
        setattr(twin, field, _CHANGED)
    except Exception:
        return None
    return twin


def assignable_fields(value: Any) -> list[str]:
    """The fields a user could assign on this object (tried on copies, never on it)."""
    return [
        field
        for field in _field_names(value)[:MAX_FIELDS_MUTATED]
        if _changed_copy(value, field) is not None
    ]


def still_equal_when_changed(value: Any, field: str) -> bool:
    """True when a copy with `field` changed has the same hash and is `==`: jit would serve
    the changed object from the entry compiled for the old value."""
    twin = _changed_copy(value, field)
    try:
        return twin is not None and hash(twin) == hash(value) and bool(twin == value)
    except Exception:
        return False


def format_path(path: tuple[Any, ...], positional_names: list[str]) -> str:
    """`((args, kwargs), ...)` key paths rewritten to start with the parameter name."""
    side, first, *rest = path
    if getattr(side, "idx", None) == 0:
        idx = first.idx
        head = positional_names[idx] if idx < len(positional_names) else f"args[{idx}]"
    else:
        head = str(first.key)
    return head + jax.tree_util.keystr(tuple(rest))


def traced_leaves(plan: CallPlan, in_avals: Any) -> tuple[TracedLeaf, ...]:
    """Every traced array leaf with its key path, abstract value and committed sharding."""
    args, kwargs = _dynamic_args(plan)
    positional_names = _positional_names(plan)
    with_paths, _ = jax.tree_util.tree_flatten_with_path((args, kwargs))
    avals = jax.tree_util.tree_leaves(in_avals)[: len(with_paths)]
    leaves = []
    for (path, value), aval in zip(with_paths, avals, strict=True):
        sharding, committed = _committed_sharding(value)
        placement = placement_of(value.sharding) if sharding is not None else None
        leaves.append(
            TracedLeaf(
                path=format_path(path, positional_names),
                shape=tuple(int(d) for d in aval.shape),
                dtype=str(aval.dtype),
                weak_type=bool(getattr(aval, "weak_type", False)),
                sharding=sharding,
                committed=committed,
                on_device=is_on_device(value),
                placement=placement,
            )
        )
    return tuple(leaves)


def is_on_device(value: Any) -> bool:
    """A `jax.Array` (or a spec, which jaxexplain calls with an array) rather than a Python
    scalar or NumPy value: JAX's dispatch signature has a placement for the one, not the other."""
    return isinstance(value, (jax.Array, jax.ShapeDtypeStruct))


def _committed_sharding(value: Any) -> tuple[str | None, bool]:
    """A committed array (or a spec with a sharding) keys the cache on its sharding."""
    if isinstance(value, jax.Array):
        committed = _jax_compat.is_committed(value)
        return (str(value.sharding) if committed else None), committed
    sharding = getattr(value, "sharding", None)
    return (str(sharding), True) if sharding is not None else (None, False)


def _dynamic_args(plan: CallPlan) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's arguments without the static ones: what JAX flattens into traced leaves."""
    args, kwargs = plan.call_args()
    static = set(plan.static_names)
    positional_static = set(plan.static_argnums)
    dyn_args = tuple(a for i, a in enumerate(args) if i not in positional_static)
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static}
    return dyn_args, dyn_kwargs


def _positional_names(plan: CallPlan) -> list[str]:
    """Names of the traced arguments passed positionally, `*args` expanded as `args[i]`."""
    names: list[str] = []
    for p in plan.params:
        if not p.passed or not p.positional or p.static:
            continue
        if p.kind.name == "VAR_POSITIONAL":
            names.extend(f"{p.name}[{i}]" for i in range(len(p.value)))
        else:
            names.append(p.name)
    return names


def function_identity(fn: Any, options: _jax_compat.JitOptions | None) -> str:
    """The function component: where it is defined, what wraps it (a partial, `jax.grad`),
    and the device or backend its wrapper is pinned to (its placement options are components
    of their own: `placement_options`)."""
    inner = user_function(fn)
    code = getattr(inner, "__code__", None)
    where = f"{code.co_filename}:{code.co_firstlineno}" if code else type(inner).__qualname__
    name = f"{getattr(inner, '__module__', '?')}.{getattr(inner, '__qualname__', repr(inner))}"
    extra = f" through {wrapper_text(fn)}" if inner is not fn else ""
    if options is not None and (options.device or options.backend):
        extra += f" device={options.device} backend={options.backend}"
    return f"{name} @ {where}{extra}"


def build_cache_key(
    plan: CallPlan,
    fn: Any,
    in_tree: Any,
    in_avals: Any,
    options: _jax_compat.JitOptions | None = None,
) -> CacheKey:
    """All components of the cache key for `plan` traced as (`in_tree`, `in_avals`)."""
    statics = tuple(static_key(name, value) for name, value in static_values(plan).items())
    key_without_digest = CacheKey(
        digest="",
        function=function_identity(fn, options),
        static=statics,
        traced=traced_leaves(plan, in_avals),
        treedef=str(in_tree),
        context=_jax_compat.trace_context(),
        jit_placement=placement_options(options),
    )
    return CacheKey(**{**key_without_digest.__dict__, "digest": digest_of(key_without_digest)})


def static_values(plan: CallPlan) -> dict[str, Any]:
    """Every static of the call by the user's name: the static arguments, then each leaf that
    `equinox.filter_jit` holds static inside a traced argument (`model.scale`, `xs[1]`)."""
    values = {p.name: p.value for p in plan.params if p.static and p.passed}
    for p in plan.params:
        if not p.passed or p.static:
            continue
        if p.kind.name == "VAR_POSITIONAL":
            for i, item in enumerate(p.value):
                values.update(_split_statics(f"{p.name}[{i}]", item))
        else:
            values.update(_split_statics(p.name, p.value))
    return values


def _split_statics(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, FilterSplit):
        return {}
    return {name + path: leaf for path, leaf in value.static_leaves()}


def filter_jit_key(plan: CallPlan, fn: Any, inner_dynamic: Any, inner_avals: Any) -> CacheKey:
    """The cache key of a call of `equinox.filter_jit` as the user made it (`plan`, split as
    equinox splits it), from the call of its inner `jax.jit`: the arrays are the same objects
    on both sides, so each of the user's array leaves takes the abstract value JAX gave it."""
    avals = jax.tree_util.tree_leaves(inner_avals)
    inner_leaves = jax.tree_util.tree_leaves(inner_dynamic)
    by_id = {id(leaf): aval for leaf, aval in zip(inner_leaves, avals, strict=True)}
    dynamic = _dynamic_args(plan)
    user_avals = [by_id[id(leaf)] for leaf in jax.tree_util.tree_leaves(dynamic)]
    return build_cache_key(plan, fn, jax.tree_util.tree_structure(dynamic), user_avals)


def plan_of_call(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: _jax_compat.JitOptions
) -> CallPlan:
    """The call plan of an actual call of a jit wrapper, exactly as the user made it.

    Positional arguments stay positional and keyword arguments stay keywords (JAX keys on the
    calling convention); they are named after `fn`'s parameters where the signature says,
    `args[i]` past them. Statics are those of the wrapper's `static_argnums`/`static_argnames`.
    """
    import inspect

    from jaxexplain.inputs.calling import BoundParam

    names = _positional_parameter_names(fn, len(args))
    static_positions = {
        i % len(args) for i in options.static_argnums if -len(args) <= i < len(args)
    }
    params = [
        BoundParam(
            name,
            inspect.Parameter.POSITIONAL_ONLY,
            i in static_positions,
            "api",
            value,
            positional=True,
        )
        for i, (name, value) in enumerate(zip(names, args, strict=True))
    ]
    params += [
        BoundParam(
            name, inspect.Parameter.KEYWORD_ONLY, name in options.static_argnames, "api", value
        )
        for name, value in kwargs.items()
    ]
    return CallPlan(tuple(params))


def _positional_parameter_names(fn: Any, count: int) -> list[str]:
    """Names for `count` positional arguments: the parameters', then `*args` as `args[i]`."""
    import inspect

    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names: list[str] = []
    star = "args"
    for p in parameters:
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            star = p.name
            break
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names = names[:count]
    return names + [f"{star}[{i}]" for i in range(count - len(names))]


SAME_EVERY_CALL = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
    types.MethodType,
    functools.partial,
)


def static_hash_notes(plan: CallPlan) -> tuple[str, ...]:
    """Warnings for static arguments whose hash or `==` defeats jit's cache.

    jit finds a static argument's entry by hash and confirms it with `==`; a value compared by
    identity in parts a program rebuilds (a closure, an optimizer, an object without `__eq__`),
    or one that an equal copy of it does not match, recompiles for every new object. Functions
    and classes are left out: they are usually the same object on every call.
    """
    notes = []
    for p in plan.params:
        if not (p.static and p.passed) or isinstance(p.value, SAME_EVERY_CALL):
            continue
        failure = hash_failure(p.value)
        if failure is not None:
            notes.append(
                f"hashing static argument {p.name} (a {type(p.value).__name__}) raises "
                f"{failure}: jit hashes every static argument on each call, so every call "
                f"fails before tracing; give {type(p.value).__name__} a __hash__ that works "
                f"(and a matching __eq__), or pass it as a traced argument"
            )
            continue
        warning = identity_warning(p.name, p.value, identity_parts(p.name, p.value))
        if warning is not None:
            notes.append(warning)
            continue
        problem = cache_defeat(p.value)
        if problem is None:
            continue
        kind = type(p.value).__name__
        notes.append(
            f"static argument {p.name} (a {kind}) {problem}: jit will recompile on every call "
            f"that passes a new {kind} object, even with equal contents; give {kind} __hash__ "
            f"and __eq__ over its fields (for example @dataclass(frozen=True))"
        )
    return tuple(notes)


def hash_failure(value: Any) -> str | None:
    """`Kind: message` of what hashing `value` raises, other than Python's own refusal of an
    unhashable type (a list, a dict), which jit reports in its own words; None otherwise."""
    try:
        hash(value)
    except TypeError as exc:
        return None if "unhashable type" in str(exc) else f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def is_hashable(value: Any) -> bool:
    """An unhashable static (a list, a mutable dataclass) defeats no cache: jit refuses it."""
    try:
        hash(value)
    except Exception:
        return False
    return True


def cache_defeat(value: Any) -> str | None:
    """Why an equal copy of a static value would miss jit's cache, or None if it would hit."""
    if uses_identity_hash(value):
        return "hashes by identity"
    if isinstance(value, PLAIN_VALUES) or not is_hashable(value):
        return None
    try:
        twin = copy.deepcopy(value)
    except Exception:
        return None
    if twin is value:
        return None
    try:
        equal = bool(twin == value)
        same_hash = hash(twin) == hash(value)
    except Exception as exc:
        return f"cannot be compared with an equal copy ({type(exc).__name__}: {exc})"
    if not equal:
        return "compares by identity (an equal copy is not ==)"
    if not same_hash:
        return "hashes an equal copy differently"
    return None
