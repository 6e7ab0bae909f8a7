"""What a decision's condition depends on, in the root function's parameters: each name it reads
followed through locals, closures, defaults, the calls that reached a helper (through JAX's
transformations and library code too) and loop carries, back to a static or traced argument,
a global or a constant."""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain.decisions.provenance import Provenance
from jaxexplain.report import Dependency

BOUND = "bound"  # the role of a bound method's `self` in the root's parameter roles
# The role of a root parameter that a `functools.partial` bound before the call: a value the
# function holds, as a closure does, which jit neither traces nor keys its cache on.
HELD = "held"

_SHAPE_VIAS = frozenset({sa.SHAPE, sa.DTYPE, sa.NDIM})


@dataclass(frozen=True)
class CarrySlot:
    """A loop carry a value passed through: `loop` is the JAX function ("scan", "fori_loop",
    "while_loop"), `slot` the item read (`carry[1]`: 1; None for the whole carry),
    `parameter` the body's parameter that holds the carry in `function`, `init` the source of
    the init item the slot was built from, at `line`, and `dependencies` what that item
    depends on in the root's parameters."""

    loop: str
    slot: int | None
    parameter: str
    function: str
    init: str
    line: int
    dependencies: tuple[Dependency, ...]


class Scope:
    """A function as it ran in one activation: where its argument expressions came from
    (`arguments` None when the call site is unknown) and the scopes around it."""

    __slots__ = (
        "arguments",
        "call_names",
        "carried",
        "complete",
        "finished",
        "function",
        "is_root",
        "library",
        "namespace",
        "parent",
        "provenance",
        "source",
        "user_call",
        "user_scope",
    )

    def __init__(
        self,
        source: sa.SourceFile,
        function: ast.AST,
        is_root: bool,
        namespace: dict[str, Any],
        parent: Scope | None,
        arguments: dict[str, ast.expr | None] | None = None,
        complete: bool = False,
    ) -> None:
        self.source = source
        self.function = function
        self.is_root = is_root
        self.namespace = namespace
        self.parent = parent
        self.arguments = arguments
        self.complete = complete
        # A function whose activation ended before the trace began (the factory that made the
        # closure being traced): its parameters and locals are what the closure holds.
        self.finished = False
        # For a helper that library code called: where its arguments' objects were held in
        # the calling user frame, and the names the call that led into the library reads.
        self.provenance: Provenance = {}
        self.call_names: frozenset[str] = frozenset()
        # The parameters a loop's body receives its carry in, and the loop ("scan").
        self.carried: dict[str, str] = {}
        # For library code: the user's scope above it and the call it was running, whose
        # arguments are what the library's fields and parameters were made from.
        self.library = False
        self.user_scope: Scope | None = None
        self.user_call: ast.Call | None = None

    def definition(self) -> Scope:
        """The module-level scope where this function's default values were evaluated."""
        return Scope(self.source, self.source.tree, False, self.namespace, None)

    def enclosing(self, function: ast.AST) -> Scope | None:
        """The scope of the nearest calling activation that runs `function`."""
        scope = self.parent
        while scope is not None and scope.function is not function:
            scope = scope.parent
        return scope

    def made_in(self, function: ast.AST) -> Scope:
        """The scope of `function` that returned before the trace, having made the closure
        being traced: only its source is known, no call site and no activation."""
        scope = Scope(self.source, function, False, self.namespace, None)
        scope.finished = True
        return scope


_LocalKey = tuple[int, str, str | None, tuple[int, ...]]
# Names one trace may follow for the tests of library code (user code's are never cut short).
# With each local resolved once, distrax's normalizing flow needs about 1,400 (a second on
# CPython 3.11); the bound keeps a library we have not met within seconds.
LIBRARY_RESOLUTION_BUDGET = 20_000


@dataclass(frozen=True)
class _Resolved:
    """What a local read depends on, the carry slots its value passed through, and, for a
    part of a cycle, the depth of the open local where the cycle was cut (None: whole)."""

    dependencies: tuple[Dependency, ...]
    carry_slots: tuple[CarrySlot, ...]
    cut_at: int | None


class OverBudget(Exception):
    """The resolver followed more names than its budget allows: the test being resolved is
    left out rather than reported with a part of its dependencies."""


class Resolver:
    """Finds what a construct's condition depends on, in terms of the root function's
    parameters wherever the values can be followed back to them."""

    def __init__(
        self,
        roles: dict[str, str],
        needs_value: bool = False,
        log_carries: bool = False,
        budget: int | None = None,
    ) -> None:
        self._roles = roles
        self._memo: dict[tuple[int, int], tuple[Dependency, ...]] = {}
        # A failure needed the value: a plain read of a traced argument is its value.
        self._plain_traced = "value" if needs_value else sa.SHAPE
        self._log_carries = log_carries
        self.carry_slots: list[CarrySlot] = []
        # Names followed so far, and how many may be (None: no bound): see `OverBudget`.
        self._steps, self._budget = 0, budget
        # What each local read (scope, name, aspect, subscripts) depends on, with the carry
        # slots it passed through. A library's values flow through many paths into the same
        # locals (distrax's bijectors and distributions), so unremembered, the work grows
        # exponentially with the depth of calls followed.
        self._locals: dict[_LocalKey, _Resolved] = {}
        # The locals being resolved (scope, name, aspect), each with its depth; per depth, the
        # shallowest of them its resolution came back to (cutting a cycle there), and the
        # parts (results cut at that depth) to drop once it is resolved.
        self._open: dict[tuple[int, str, str | None], int] = {}
        self._lowest: list[int] = []
        self._parts: list[list[_LocalKey]] = []

    def dependencies(self, construct: sa.Construct, scope: Scope) -> tuple[Dependency, ...]:
        key = (id(construct), id(scope))
        if key not in self._memo:
            via = sa.LENGTH if construct.kind in ("for", "comprehension") else None
            found = [
                dependency
                for condition in construct.conditions
                for dependency in self._expression(condition, via, scope)
            ]
            self._memo[key] = tuple(dict.fromkeys(found))
        return self._memo[key]

    def expression(
        self, expression: ast.expr, via: str | None, scope: Scope
    ) -> Iterator[Dependency]:
        """What an expression read in `scope` depends on."""
        return self._expression(expression, via, scope)

    def _expression(
        self, expression: ast.expr, via: str | None, scope: Scope
    ) -> Iterator[Dependency]:
        for read in sa.reads(expression, via):
            yield from self._resolve(read, scope)

    def _resolve(self, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        self._steps += 1
        if self._budget is not None and self._steps > self._budget:
            raise OverBudget
        source, function, name = scope.source, scope.function, read.name
        if isinstance(function, ast.Module):
            yield from _global(read, scope.namespace)
            return
        drawn = self._drawn(read, scope)
        iterable = source.comprehension_binding(read.node, name) if drawn is None else None
        if drawn is not None:
            yield from drawn
        elif iterable is not None:
            yield from self._expression(iterable, read.via, scope)
        elif name in sa.parameters(function):
            yield from self._parameter(read, scope)
            if scope.library and name in source.bindings(function):
                # Rebound (`deterministic = merge_param(..., deterministic)`): either value.
                yield from self._local(read, scope)
        elif name in source.bindings(function):
            yield from self._local(read, scope)
        else:
            yield from self._free(read, scope)

    def _drawn(self, read: sa.Read, scope: Scope) -> list[Dependency] | None:
        """A comprehension variable unpacked from the items of a local written as one dict
        or list display (`kind, v in sites.values()` with `sites = {"a": ("sample", x)}`): the
        part of each item it takes (`"sample"`), never the rest (`x`), and a dict's keys as
        written (constants of the code); None where the items are not written out so, or
        where the local might change after (a store into it, a call it is passed to)."""
        found = scope.source.comprehension_item(read.node, read.name)
        view = sa.dict_view(found[0]) if found is not None else None
        if found is None or view is None or read.name == view[1]:
            return None
        bindings = scope.source.bindings(scope.function).get(view[1], [])
        if len(bindings) != 1 or bindings[0].value is None:
            return None
        if not sa.only_read(scope.source, scope.function, view[1]):
            return None
        parts = _display_items(bindings[0].value, view[0], found[1])
        if parts is None:
            return None
        index = read.index
        return [
            d
            for part, position in parts
            for d in self._item(
                part, sa.Read(read.name, read.via, (), read.node, False, (*position, *index)), scope
            )
        ]

    def _item(self, expression: ast.expr, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        """What the value `read` takes from `expression` depends on: only the item its
        subscripts pick (`carry[1]` of `(h, reps)`), followed through names that hold it."""
        item, rest = sa.select(expression, read.index)
        if rest and isinstance(item, ast.Name):
            yield from self._resolve(sa.Read(item.id, read.via, (), item, False, rest), scope)
        else:
            yield from self._expression(item, read.via, scope)

    def _local(self, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        """A local variable depends on whatever any of its assignments read, and, where it
        has several, on the tests of the branches that hold them: resolved once per
        (scope, name, aspect, subscripts); a read that comes back to a local still being
        resolved (a cycle) adds nothing there, since that local's result holds it."""
        key = (id(scope), read.name, read.via, read.index)
        known = self._locals.get(key)
        if known is None and key[:3] in self._open:
            self._lowest[-1] = min(self._lowest[-1], self._open[key[:3]])
            return
        if known is None:
            known = self._local_anew(read, scope, key)
        else:
            self.carry_slots.extend(known.carry_slots)
        if known.cut_at is not None:
            self._lowest[-1] = min(self._lowest[-1], known.cut_at)
        yield from known.dependencies

    def _local_anew(self, read: sa.Read, scope: Scope, key: _LocalKey) -> _Resolved:
        """Resolves a local. The result is whole unless a cycle was cut at a local still open
        above it; such a part is reused only while that local stays open (the locals of
        distrax's `MultivariateNormalDiag` read each other through every aspect), and
        dropped when it closes, its own result then being whole."""
        depth = self._open[key[:3]] = len(self._open)
        self._lowest.append(depth)
        self._parts.append([])
        logged = len(self.carry_slots)
        try:
            found = tuple(dict.fromkeys(self._local_reads(read, scope)))
        finally:
            del self._open[key[:3]]
            lowest = self._lowest.pop()
            for part in self._parts.pop():
                del self._locals[part]
        cut_at = lowest if lowest < depth else None
        resolved = _Resolved(found, tuple(self.carry_slots[logged:]), cut_at)
        self._locals[key] = resolved
        if cut_at is not None:
            self._parts[cut_at].append(key)
        return resolved

    def _local_reads(self, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        bindings = scope.source.bindings(scope.function)[read.name]
        for binding in bindings:
            if binding.value is not None:
                yield from self._item(binding.value, read, scope)
        if len(bindings) > 1:
            # Which of its values the name holds is decided by the branches that bind it.
            for binding in bindings:
                for test in scope.source.guards(binding.owner):
                    yield from self._expression(test, None, scope)

    def _free(self, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        """A closure variable is followed into the enclosing function's activation, or, where
        that function returned before the trace (a factory such as `make_train(config)`),
        into its source: the closure holds what the factory's parameters and locals held."""
        binder = scope.source.enclosing_binder(scope.function, read.name)
        if binder is None:
            yield from _global(read, scope.namespace)
            return
        outer = scope.enclosing(binder)
        yield from self._resolve(read, outer if outer is not None else scope.made_in(binder))

    def _parameter(self, read: sa.Read, scope: Scope) -> Iterator[Dependency]:
        source, function, name = scope.source, scope.function, read.name
        self_attribute = bool(read.path) and source.is_method(function)
        self_attribute = self_attribute and sa.parameters(function)[0] == name
        if self_attribute and read.called:
            return  # a method call on self
        shown = f"{name}.{read.path[0]}" if self_attribute else name
        aspect = read.via if read.via in _SHAPE_VIAS else None
        if scope.finished or (scope.is_root and self._roles.get(name) == HELD):
            yield Dependency(_held_name(read, source), "constant")
            return
        if scope.is_root and self._roles.get(name) == BOUND:
            # A value the function carries, which jit neither traces nor keys its cache on.
            yield Dependency(shown, "global")
            return
        if scope.library:
            yield from self._library_parameter(read, scope, self_attribute)
            return
        attribute = f"{name}.{read.path[0]}" if read.path else None
        if scope.is_root and read.via is None and self._roles.get(attribute or "") == "static":
            yield Dependency(attribute or name, "static")  # aux data of a traced pytree object
            return
        if scope.is_root:
            static = self._roles.get(name, "traced") != "traced"
            plain = "static" if self_attribute else self._plain_traced
            yield Dependency(shown, "static" if static else aspect or plain)
            return
        origin = self._argument_origin(read, scope)
        forwarded = None if origin or self_attribute else self._forwarded_keyword(read, scope)
        held = None if origin or forwarded else self._held_by_caller(read, scope)
        if forwarded is not None:
            yield forwarded
        elif held is not None:
            yield from held
        elif origin is None:
            yield Dependency(shown, "global" if self_attribute else _unknown_origin_via(read.via))
        elif self_attribute:
            owner = _passed_parameter(scope, name, origin)
            shown = f"{owner}.{read.path[0]}" if owner else shown
            yield Dependency(shown, _self_via(origin, aspect))
        else:
            yield from origin

    def _library_parameter(
        self, read: sa.Read, scope: Scope, self_attribute: bool
    ) -> Iterator[Dependency]:
        """A library function's parameter is the argument its caller passed (a library caller
        followed further up); where the user's call that led into the library passed it by
        name, or, for `self.<field>`, built the module with that keyword
        (`nn.Dropout(0.1, deterministic=not train)(h)`), it is that expression in the user's
        scope. Anything else (a default, a value made inside the library) is never static."""
        if not self_attribute:
            origin = self._argument_origin(read, scope)
            if origin is not None:
                yield from origin
                return
        passed = _passed_by_user(read, scope, self_attribute)
        if passed is not None and scope.user_scope is not None:
            yield from self._expression(passed, read.via, scope.user_scope)

    def _forwarded_keyword(self, read: sa.Read, scope: Scope) -> Dependency | None:
        """A helper's parameter that the root handed on through `**kwargs`
        (`apply(params, *args, **kwargs)` calling `f(*args, **kwargs)`): the keyword argument of
        that name that the call passed into the root's `**kwargs`, static or traced as jit saw it.
        """
        caller = scope.parent
        if caller is None or not caller.is_root or scope.complete:
            return None
        if scope.arguments is not None and read.name in scope.arguments:
            return None
        role = self._roles.get(read.name)
        if role is None or role == BOUND or read.name in sa.parameters(caller.function):
            return None
        if role != "traced":
            return Dependency(read.name, "static")
        return Dependency(read.name, read.via if read.via in _SHAPE_VIAS else self._plain_traced)

    def _held_by_caller(self, read: sa.Read, scope: Scope) -> list[Dependency] | None:
        """A parameter of a helper that library code called (haiku's `apply` calling the
        user's forward with `is_training`, flax calling `__call__` on a clone whose
        `self.act` is the object the user built the module with): the caller's local that
        held the object read, resolved there, named by its path (`model.config.act`);
        None where identity does not single one out."""
        caller = scope.parent
        if not scope.provenance or caller is None:
            return None
        chain = (read.name, *read.path)
        for length in range(len(chain), 0, -1):
            held = _holder(scope, chain[:length])
            if held is not None:
                return self._resolve_held(held, chain[length:], read, caller)
        return None

    def _resolve_held(
        self,
        held: tuple[str, ...],
        rest: tuple[str, ...],
        read: sa.Read,
        caller: Scope,
    ) -> list[Dependency]:
        """What the caller's local `held[0]` depends on; read at the root, it is the root's
        parameter named by the whole path, and static: arrays and tracers are never matched,
        so what was found inside a traced argument is its tree's aux data, which jit keys on."""
        name, steps = held[0], [step.lstrip(".") for step in held[1:]]
        node = ast.Name(id=name, ctx=ast.Load())
        inner = sa.Read(name, read.via, (*steps, *rest), node, False)
        shown = name + "".join(held[1:]) + "".join(f".{step}" for step in rest)
        found = list(self._resolve(inner, caller))
        if not caller.is_root or self._roles.get(name) in (None, BOUND):
            return found
        named = {name, f"{name}.{inner.path[0]}" if inner.path else name}
        return [Dependency(shown, "static") if d.name in named else d for d in found]

    def _argument_origin(self, read: sa.Read, scope: Scope) -> list[Dependency] | None:
        """What the caller passed for a parameter, or its default; None when unknown."""
        if scope.arguments is None:
            return None
        if read.name in scope.arguments:
            argument = scope.arguments[read.name]
            if argument is None or scope.parent is None:
                return None
            found = list(self._item(argument, read, scope.parent))
            if self._log_carries and read.name in scope.carried:
                self.carry_slots.append(_carry_slot(scope, read, argument, found))
            return found
        default = sa.parameter_defaults(scope.function).get(read.name)
        if default is None or not scope.complete:
            return None
        return list(self._expression(default, read.via, scope.definition()))


def library_resolver(roles: dict[str, str]) -> Resolver:
    """A resolver for the tests of library code, which stops once it has followed
    `LIBRARY_RESOLUTION_BUDGET` names in one trace (read when it is made)."""
    return Resolver(roles, budget=LIBRARY_RESOLUTION_BUDGET)


def _display_items(
    container: ast.expr, view: str, position: tuple[int, ...]
) -> list[tuple[ast.expr, tuple[int, ...]]] | None:
    """The expressions a target part at `position` takes from each item of a dict display's
    `view` ("keys", "values", "items") or of a list or tuple display iterated as such, with the
    subscripts left to pick inside them; None for any other container or a spread (`**d`,
    `*xs`) whose items are not written out."""
    if isinstance(container, ast.Dict) and all(k is not None for k in container.keys):
        keys = [k for k in container.keys if k is not None]
        if view == "keys":
            return [(k, position) for k in keys]
        if view == "values":
            return [(v, position) for v in container.values]
        if view == "items" and position[0] in (0, 1):
            chosen = keys if position[0] == 0 else container.values
            return [(part, position[1:]) for part in chosen]
        return None
    if view != "keys" or not isinstance(container, (ast.Tuple, ast.List)):
        return None
    if any(isinstance(e, ast.Starred) for e in container.elts):
        return None
    return [(e, position) for e in container.elts]


def _passed_by_user(read: sa.Read, scope: Scope, self_attribute: bool) -> ast.expr | None:
    """The expression the user's running call gave for a library parameter or field: a
    keyword of that name, a positional argument of `Module(...)(x, flag)` bound to a
    `__call__`'s parameters, or for `self.<field>` a keyword of the constructor call that
    made the module being called (`nn.BatchNorm(use_running_average=not train)(x)`)."""
    call = scope.user_call
    if call is None:
        return None
    if self_attribute:
        constructor = call.func
        if not isinstance(constructor, ast.Call):
            return None
        return _keyword(constructor, read.path[0])
    by_name = _keyword(call, read.name)
    if by_name is not None or not isinstance(call.func, ast.Call):
        return by_name
    function = scope.function
    if getattr(function, "name", None) != "__call__" or not scope.source.is_method(function):
        return None
    arguments = function.args  # type: ignore[attr-defined]
    positional = [p.arg for p in (*arguments.posonlyargs, *arguments.args)][1:]
    positional = positional[: len(call.args)]
    if any(isinstance(a, ast.Starred) for a in call.args) or read.name not in positional:
        return None
    return call.args[positional.index(read.name)]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value of keyword `name` in a call, where it is passed by that name."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def _carry_slot(
    scope: Scope, read: sa.Read, argument: ast.expr, found: list[Dependency]
) -> CarrySlot:
    item, _ = sa.select(argument, read.index[:1])
    return CarrySlot(
        loop=scope.carried[read.name],
        slot=read.index[0] if read.index else None,
        parameter=read.name,
        function=getattr(scope.function, "name", "<lambda>"),
        init=ast.unparse(item),
        line=getattr(item, "lineno", argument.lineno),
        dependencies=tuple(dict.fromkeys(found)),
    )


def _holder(scope: Scope, chain: tuple[str, ...]) -> tuple[str, ...] | None:
    """The caller's path that held the object at `chain` (a parameter, then attributes), where
    identity singles it out: a shared small value (True, 3, "gelu") only from a name the call
    into the library read, and then only one such name, or the one named like the parameter
    or attribute read (`train=train`)."""
    entry = scope.provenance.get(".".join(chain))
    if entry is None:
        return None
    paths, shared = entry
    if shared:
        paths = tuple(p for p in paths if p[0] in scope.call_names)
        if len(paths) > 1:
            paths = tuple(p for p in paths if p[-1].lstrip(".") == chain[-1])
        return paths[0] if len(paths) == 1 else None
    named = [p for p in paths if p[0] in scope.call_names] or list(paths)
    return min(named, key=len) if named else None


def _passed_parameter(scope: Scope, name: str, origin: list[Dependency]) -> str | None:
    """The root parameter a method's `self` is, where the call passed it as is
    (`opt.update(...)` with `opt` static): `self.lr` is then shown as `opt.lr`, the name the
    user passed and the report lists; None where `self` was built from it (`Stack(n)`)."""
    argument = scope.arguments.get(name) if scope.arguments else None
    if isinstance(argument, ast.Name) and [d.name for d in origin] == [argument.id]:
        return argument.id
    return None


def _held_name(read: sa.Read, source: sa.SourceFile) -> str:
    """A value a closure or a partial holds, named as the condition reads it: the entry or
    attribute (`config['ANNEAL_LR']`, `config.lr`), not the whole container; a method called
    on it, or an aspect (`.shape`), ends the name."""
    node: ast.AST = read.node
    parent = source.parents.get(node)
    while parent is not None and _reads_into(parent, node, source):
        node, parent = parent, source.parents.get(parent)
    return ast.unparse(node)


def _reads_into(parent: ast.AST, node: ast.AST, source: sa.SourceFile) -> bool:
    """True where `parent` reads one part of `node`'s value: a constant subscript, or an
    attribute that is neither an aspect nor a method called."""
    if isinstance(parent, ast.Subscript):
        return parent.value is node and isinstance(parent.slice, ast.Constant)
    if not isinstance(parent, ast.Attribute) or parent.value is not node:
        return False
    call = source.parents.get(parent)
    called = isinstance(call, ast.Call) and call.func is parent
    return parent.attr not in sa.ASPECT_ATTRIBUTES and not called


def _unknown_origin_via(via: str | None) -> str:
    """How a helper's parameter that no call site maps (a function JAX called in a way the
    recorder cannot follow) is read: its shape (its length or iteration included) or dtype,
    as for a traced argument; read plainly, it is a value from outside the parameters the
    recorder follows, which it cannot show to be static."""
    if via in _SHAPE_VIAS:
        return via  # type: ignore[return-value]
    return sa.SHAPE if via == sa.LENGTH else "global"


def _self_via(origin: list[Dependency], via: str | None) -> str:
    """`self.attr` is static when `self` came from a static argument, follows the aspect read
    when `self` is a traced argument, and is a global otherwise."""
    vias = {d.via for d in origin}
    if "static" in vias:
        return "static"
    if vias & _SHAPE_VIAS:
        return via or "static"
    return "global"


def _global(read: sa.Read, namespace: dict[str, Any]) -> Iterator[Dependency]:
    """A module global is a dependency unless it is code: a module, function or class used
    as such (`jnp.float32`, `range`), which cannot change between calls."""
    name = read.name
    if name in namespace:
        value = namespace[name]
    elif hasattr(builtins, name):
        return
    else:
        yield Dependency(name, "global")
        return
    shown = name
    if isinstance(value, ModuleType):
        for attribute in read.path:
            value = getattr(value, attribute, None)
            shown = f"{shown}.{attribute}"
            if not isinstance(value, ModuleType):
                break
        is_code = isinstance(value, ModuleType) or callable(value)
    elif read.path:
        attribute = inspect.getattr_static(value, read.path[0], None)
        is_code = inspect.isroutine(attribute) or isinstance(attribute, (staticmethod, classmethod))
    else:
        is_code = callable(value)
    if not (read.called or is_code):
        yield Dependency(shown, "global")
