"""Static facts about user source files: what the decision recorder maps execution onto, and
what an expression reads (through which aspect), where a local name gets its value and which
call argument feeds which parameter, for the recorder and the failure explainer alike."""

from __future__ import annotations

import ast
import linecache
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import CodeType
from typing import Any

from jaxexplain._py_compat import COMPREHENSIONS_HAVE_OWN_CODE

# A source range as (line, column, end line, end column); columns are UTF-8 byte offsets,
# the same unit as `ast` node positions and `code.co_positions()`.
Span = tuple[int, int, int, int]

# Where an instruction lies relative to one construct. Match statements number their cases:
# HEAD + k is the pattern and guard of case k, CASE_BODY + k its body.
NEUTRAL, OUTSIDE, INSIDE, TEST, BODY, ORELSE, ITER, TARGET = range(8)
HEAD, CASE_BODY = 100, 200

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_CODE_NAME_KINDS: dict[str, Any] = {
    "<lambda>": ast.Lambda,
    "<genexpr>": ast.GeneratorExp,
    **(
        {"<listcomp>": ast.ListComp, "<setcomp>": ast.SetComp, "<dictcomp>": ast.DictComp}
        if COMPREHENSIONS_HAVE_OWN_CODE
        else {}
    ),
}
# The aspects of a value an expression can read instead of the value itself. LENGTH is how a
# loop reads its iterable: only how many items it yields matters, so a comprehension read this
# way depends on its `for` clauses, not on its elements.
SHAPE, NDIM, DTYPE, LENGTH = "shape", "ndim", "dtype", "len"
ASPECT_ATTRIBUTES = {"shape": SHAPE, "size": SHAPE, "ndim": NDIM, "dtype": DTYPE}
_ASPECT_FUNCTIONS = {"len": LENGTH, "shape": SHAPE, "size": SHAPE, "ndim": NDIM}
_DISPLAYS = (ast.Tuple, ast.List)
# Builtins whose result has as many items as their iterable arguments (zip: the fewest), so a
# literal display passed to them keeps its fixed length.
_LENGTH_KEEPING = frozenset({"enumerate", "zip", "list", "tuple", "reversed", "sorted", "iter"})


def span_of(node: ast.AST) -> Span:
    """The node's source range."""
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined,return-value]


def block_span(statements: Sequence[ast.AST]) -> Span | None:
    """The range from the first to the last statement of a block, None for an empty block."""
    if not statements:
        return None
    first, last = span_of(statements[0]), span_of(statements[-1])
    return (first[0], first[1], last[2], last[3])


def contains(outer: Span, inner: Span) -> bool:
    """True when `inner` lies within `outer` (equal ranges included)."""
    return outer[:2] <= inner[:2] and inner[2:] <= outer[2:]


def disjoint(a: Span, b: Span) -> bool:
    """True when the two ranges share no character."""
    return a[2:] <= b[:2] or b[2:] <= a[:2]


def first_line(node: ast.AST) -> int:
    """The line a code object built from `node` reports as co_firstlineno (decorators first)."""
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class Construct:
    """One control-flow construct of the source and the regions its outcome is read from.

    `regions` lists (label, range) pairs; an executed instruction inside the construct but in
    none of them is INSIDE. `literal` holds the truth value of a test written as a literal
    (`while True:`), which the compiler folds away, and is None otherwise.
    """

    kind: str
    node: ast.AST
    span: Span
    regions: tuple[tuple[int, Span], ...]
    function: ast.AST
    conditions: tuple[ast.expr, ...]
    literal: bool | None = None
    last_case_irrefutable: bool = False

    @property
    def line(self) -> int:
        return self.node.lineno  # type: ignore[attr-defined,no-any-return]

    @property
    def column(self) -> int:
        return self.node.col_offset  # type: ignore[attr-defined,no-any-return]

    def label(self, position: Span | None) -> int:
        """Where an instruction at `position` lies relative to this construct."""
        if position is None:
            return NEUTRAL
        if disjoint(self.span, position):
            return OUTSIDE
        if not contains(self.span, position):
            return NEUTRAL
        for label, region in self.regions:
            if contains(region, position):
                return label
        return INSIDE


@dataclass(frozen=True)
class Binding:
    """One place where a function binds a local name: the expression the value came from, and
    the node whose execution binds it (a statement, or a `:=`), which says where it takes effect.

    `value` is None where the name is bound to something no value can depend on through it
    (a nested function, a class, an import, an exception).
    """

    value: ast.expr | None
    owner: ast.AST


@dataclass(frozen=True)
class Read:
    """A name an expression reads, and how: through `.shape`/`len()` ("shape"), `.dtype`,
    `.ndim`, or plainly (None); `path` is the attribute chain read from it, `called` whether
    the chain is called (a function or method, not a value); `index` the constant subscripts
    read from it (`carry[1]`: (1,)), which pick one item of a tuple it was built as."""

    name: str
    via: str | None
    path: tuple[str, ...]
    node: ast.Name
    called: bool
    index: tuple[int, ...] = ()


class SourceFile:
    """One parsed user source file, with the lookups the recorder needs computed once."""

    def __init__(self, path: str, text: str, tree: ast.Module) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
        }

    def segment(self, node: ast.AST) -> str:
        """The source text of a node, on one line."""
        text = ast.get_source_segment(self.text, node) or ""
        return " ".join(part.strip() for part in text.splitlines())

    def function_of(self, node: ast.AST) -> ast.AST:
        """The function (or lambda, or the module) whose body holds `node`."""
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, FUNCTIONS):
            parent = self.parents.get(parent)
        return parent if parent is not None else self.tree

    def qualname(self, function: ast.AST) -> str:
        """The function's `__qualname__`, computed from the source as Python does."""
        if isinstance(function, ast.Module):
            return "<module>"
        parts = [getattr(function, "name", "<lambda>")]
        parent = self.parents.get(function)
        while parent is not None and not isinstance(parent, ast.Module):
            if isinstance(parent, FUNCTIONS):
                parts.append("<locals>")
                parts.append(getattr(parent, "name", "<lambda>"))
            elif isinstance(parent, ast.ClassDef):
                parts.append(parent.name)
            parent = self.parents.get(parent)
        return ".".join(reversed(parts))

    @cached_property
    def constructs(self) -> tuple[Construct, ...]:
        """Every decision construct of the file, in source order."""
        found = [c for node in ast.walk(self.tree) for c in self._constructs_of(node)]
        return tuple(sorted(found, key=lambda c: (c.line, c.column)))

    @cached_property
    def calls(self) -> dict[Span, ast.Call]:
        """Call expressions by source range: a CALL instruction carries its call's range."""
        return {span_of(n): n for n in ast.walk(self.tree) if isinstance(n, ast.Call)}

    def calls_within(self, position: Span) -> list[ast.Call]:
        """The calls inside a range, the outermost first, then in source order."""
        inside = [(span, call) for span, call in self.calls.items() if contains(position, span)]
        inside.sort(key=lambda item: (item[0][:2], (-item[0][2], -item[0][3])))
        return [call for _, call in inside]

    @cached_property
    def bare_statements(self) -> frozenset[Span]:
        """Ranges of `break`, `continue` and `pass`, which may compile to nothing but a jump
        carrying their range: that jump shows the branch holding them was taken."""
        kinds = (ast.Break, ast.Continue, ast.Pass)
        return frozenset(span_of(n) for n in ast.walk(self.tree) if isinstance(n, kinds))

    def in_return_statement(self, position: Span) -> bool:
        """Whether a range lies in an explicit `return` (a return instruction elsewhere is an
        implicit one, whose range is borrowed from the code before it)."""
        returns: dict[int, list[Span]] = self.__dict__.setdefault("_returns", {})
        if not returns:
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Return):
                    returns.setdefault(node.lineno, []).append(span_of(node))
        return any(contains(r, position) for r in returns.get(position[0], ()))

    @cached_property
    def _scopes(self) -> list[ast.AST]:
        kinds = (*FUNCTIONS, ast.ClassDef, *COMPREHENSIONS)
        return [n for n in ast.walk(self.tree) if isinstance(n, kinds)]

    def scope_for_code(self, code: CodeType) -> ast.AST | None:
        """The function, lambda, class body or comprehension a code object was compiled from."""
        if code.co_name == "<module>":
            return self.tree
        kind = _CODE_NAME_KINDS.get(code.co_name)
        candidates = [
            node
            for node in self._scopes
            if first_line(node) == code.co_firstlineno
            and (
                isinstance(node, kind)
                if kind is not None
                else getattr(node, "name", None) == code.co_name
                and not isinstance(node, (ast.Lambda, *COMPREHENSIONS))
            )
        ]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        positions = [p for p in code_spans(code) if p is not None]
        for node in candidates:
            if any(contains(span_of(node), p) for p in positions):
                return node
        return candidates[0]

    def _constructs_of(self, node: ast.AST) -> list[Construct]:
        builder = _BUILDERS.get(type(node))
        return builder(self, node) if builder is not None else []

    def comprehension_binding(self, name_node: ast.AST, name: str) -> ast.expr | None:
        """The iterable a comprehension variable read at `name_node` comes from, if it is one."""
        path = [name_node]
        parent = self.parents.get(name_node)
        while parent is not None and not isinstance(parent, FUNCTIONS):
            if isinstance(parent, COMPREHENSIONS):
                first = parent.generators[0]
                # The first iterable is evaluated outside the comprehension's scope.
                outside = len(path) >= 2 and path[-1] is first and path[-2] is first.iter
                for generator in parent.generators:
                    for target, value in iteration_sources(generator.target, generator.iter):
                        if name in _target_names(target) and not outside:
                            return value
            path.append(parent)
            parent = self.parents.get(parent)
        return None

    def comprehension_item(
        self, name_node: ast.AST, name: str
    ) -> tuple[ast.expr, tuple[int, ...]] | None:
        """For a comprehension variable unpacked from the items of its iterable
        (`kind, v in sites.values()`): the iterable and where in an item the name sits
        (`kind`: (0,)); None where it is bound otherwise (a plain name, `enumerate`, `zip`)."""
        iterable = self.comprehension_binding(name_node, name)
        parent = self.parents.get(iterable) if iterable is not None else None
        if not isinstance(parent, ast.comprehension) or parent.iter is not iterable:
            return None
        position = _position(parent.target, name)
        return (iterable, position) if position else None

    def bindings(self, function: ast.AST) -> dict[str, list[Binding]]:
        """The local names a function assigns, each with where its values came from."""
        cache: dict[ast.AST, dict[str, list[Binding]]] = self.__dict__.setdefault("_bindings", {})
        if function not in cache:
            collector = _BindingCollector(function)
            cache[function] = collector.bindings
        return cache[function]

    def guards(self, node: ast.AST) -> list[ast.expr]:
        """The tests that decide whether `node` runs: those of the `if`, `while` and `match`
        statements (and conditional expressions) of its function whose branches hold it, the
        innermost first. A name bound in a branch (`dt0 = None` under `if adaptive:`) holds
        the value the branch taken gave it, so it depends on these tests as well."""
        tests: list[ast.expr] = []
        child, parent = node, self.parents.get(node)
        while parent is not None and not isinstance(parent, (*FUNCTIONS, ast.Module)):
            if isinstance(parent, (ast.If, ast.While, ast.IfExp)) and child is not parent.test:
                tests.append(parent.test)
            elif isinstance(parent, ast.match_case):
                match = self.parents.get(parent)
                tests.append(match.subject)  # type: ignore[union-attr]
            child, parent = parent, self.parents.get(parent)
        return tests

    def enclosing_binder(self, function: ast.AST, name: str) -> ast.AST | None:
        """The enclosing function whose local or parameter a free variable `name` is."""
        parent = self.parents.get(function)
        while parent is not None:
            if isinstance(parent, FUNCTIONS) and (
                name in parameters(parent) or name in self.bindings(parent)
            ):
                return parent
            parent = self.parents.get(parent)
        return None

    def values_of(self, function: ast.AST, name: str) -> list[ast.expr]:
        """The expressions a name read in `function` may hold: its assignments there, else in
        the enclosing function that binds it, else at module level; none for a parameter."""
        if name in parameters(function):
            return []
        binder: ast.AST | None = function
        if name not in self.bindings(function):
            binder = self.enclosing_binder(function, name)
            if binder is not None and name in parameters(binder):
                return []
        bindings = self.bindings(binder if binder is not None else self.tree)
        return [b.value for b in bindings.get(name, []) if b.value is not None]

    def is_method(self, function: ast.AST) -> bool:
        """True for a function defined in a class body and not a staticmethod."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        decorators = {getattr(d, "id", getattr(d, "attr", None)) for d in function.decorator_list}
        return isinstance(self.parents.get(function), ast.ClassDef) and (
            "staticmethod" not in decorators
        )

    def class_name(self, function: ast.AST) -> str | None:
        """The name of the class a method is defined in."""
        parent = self.parents.get(function)
        return parent.name if isinstance(parent, ast.ClassDef) else None


def parameters(function: ast.AST) -> list[str]:
    """The parameter names of a function or lambda in declaration order (none for a module)."""
    if not isinstance(function, FUNCTIONS):
        return []
    a = function.args
    names = [p.arg for p in (*a.posonlyargs, *a.args)]
    names += [a.vararg.arg] if a.vararg else []
    names += [p.arg for p in a.kwonlyargs]
    names += [a.kwarg.arg] if a.kwarg else []
    return names


def code_spans(code: CodeType) -> Iterator[Span | None]:
    """The source range of every code unit of a code object (None where it has none)."""
    for line, end_line, column, end_column in code.co_positions():
        if line is None or end_line is None or column is None or end_column is None:
            yield None
        else:
            yield (line, column, end_line, end_column)


_SOURCES: dict[str, SourceFile] = {}


def load_source(path: str, module_globals: dict[str, Any] | None = None) -> SourceFile | None:
    """The parsed file, cached while its text stays the same; None when it has no source."""
    text = "".join(linecache.getlines(path, module_globals))
    if not text:
        return None
    cached = _SOURCES.get(path)
    if cached is not None and cached.text == text:
        return cached
    try:
        tree = ast.parse(text, path)
    except (SyntaxError, ValueError):
        return None
    _SOURCES[path] = SourceFile(path, text, tree)
    return _SOURCES[path]


def _build_if(source: SourceFile, node: ast.If | ast.While) -> list[Construct]:
    regions = [(TEST, span_of(node.test))]
    regions += [(BODY, s) for s in [block_span(node.body)] if s]
    regions += [(ORELSE, s) for s in [block_span(node.orelse)] if s]
    literal = _literal_truth(node.test)
    kind = "if" if isinstance(node, ast.If) else "while"
    function = source.function_of(node)
    return [Construct(kind, node, span_of(node), tuple(regions), function, (node.test,), literal)]


def _build_ifexp(source: SourceFile, node: ast.IfExp) -> list[Construct]:
    regions = (
        (TEST, span_of(node.test)),
        (BODY, span_of(node.body)),
        (ORELSE, span_of(node.orelse)),
    )
    function = source.function_of(node)
    return [Construct("ifexp", node, span_of(node), regions, function, (node.test,))]


def _build_assert(source: SourceFile, node: ast.Assert) -> list[Construct]:
    regions = ((TEST, span_of(node.test)),)
    literal = _literal_truth(node.test)
    function = source.function_of(node)
    return [Construct("assert", node, span_of(node), regions, function, (node.test,), literal)]


def _build_for(source: SourceFile, node: ast.For) -> list[Construct]:
    regions = [(ITER, span_of(node.iter)), (TARGET, span_of(node.target))]
    regions += [(BODY, s) for s in [block_span(node.body)] if s]
    regions += [(ORELSE, s) for s in [block_span(node.orelse)] if s]
    function = source.function_of(node)
    return [Construct("for", node, span_of(node), tuple(regions), function, (node.iter,))]


def _build_comprehension(source: SourceFile, node: ast.AST) -> list[Construct]:
    """The comprehension counts its outermost `for`; each `if` clause is an `if` of its own."""
    generators = node.generators  # type: ignore[attr-defined]
    first = generators[0]
    regions = ((ITER, span_of(first.iter)), (TARGET, span_of(first.target)))
    function = source.function_of(node)
    conditions = tuple(g.iter for g in generators)
    loop = Construct("comprehension", node, span_of(node), regions, function, conditions)
    return [loop, *_comprehension_filters(node, function)]


def _comprehension_filters(node: Any, function: ast.AST) -> Iterator[Construct]:
    """A filter is true when what follows it runs (a later clause or the element), false
    when its generator moves on to the next item (or runs out)."""
    generators = node.generators
    elements = [getattr(node, field) for field in ("elt", "key", "value") if hasattr(node, field)]
    for index, generator in enumerate(generators):
        for position, condition in enumerate(generator.ifs):
            later_clauses = [
                *generator.ifs[position + 1 :],
                *(part for g in generators[index + 1 :] for part in (g.target, g.iter, *g.ifs)),
            ]
            regions = (
                (TEST, span_of(condition)),
                *((BODY, span_of(part)) for part in [*later_clauses, *elements]),
                (ORELSE, span_of(generator.target)),
            )
            yield Construct("if", condition, span_of(node), regions, function, (condition,))


def _build_match(source: SourceFile, node: ast.Match) -> list[Construct]:
    regions = [(ITER, span_of(node.subject))]
    for index, case in enumerate(node.cases):
        head = span_of(case.pattern)
        if case.guard is not None:
            head = (head[0], head[1], *span_of(case.guard)[2:])
        regions.append((HEAD + index, head))
        body = block_span(case.body)
        if body is not None:
            regions.append((CASE_BODY + index, body))
    guards = tuple(c.guard for c in node.cases if c.guard is not None)
    values = tuple(
        p.value for c in node.cases for p in ast.walk(c.pattern) if isinstance(p, ast.MatchValue)
    )
    last = node.cases[-1]
    irrefutable = last.guard is None and _irrefutable(last.pattern)
    match = Construct(
        "match",
        node,
        span_of(node),
        tuple(regions),
        source.function_of(node),
        (node.subject, *guards, *values),
        last_case_irrefutable=irrefutable,
    )
    return [match]


_BUILDERS: dict[type, Any] = {
    ast.If: _build_if,
    ast.While: _build_if,
    ast.IfExp: _build_ifexp,
    ast.Assert: _build_assert,
    ast.For: _build_for,
    ast.Match: _build_match,
    **dict.fromkeys(COMPREHENSIONS, _build_comprehension),
}


def _irrefutable(pattern: ast.pattern) -> bool:
    """`case _:` and `case name:` match anything."""
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(_irrefutable(p) for p in pattern.patterns)
    return False


def _literal_truth(test: ast.expr) -> bool | None:
    """The truth of a test the compiler folds to a constant (`True`, `0`, `not 1`), else None."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _literal_truth(test.operand)
        return None if inner is None else not inner
    return None


def iteration_sources(target: ast.expr, iterable: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """What each part of a loop target takes its values from: in `for i, w in enumerate(ws)`,
    `i` counts (it depends on the length of ws) and `w` comes from an item of ws; in
    `for a, b in zip(xs, ys)`, `a` from an item of xs and `b` from one of ys; otherwise an
    item of the whole iterable (see `element_of`)."""
    if isinstance(target, ast.Tuple) and isinstance(iterable, ast.Call):
        plain = all(k.arg == "strict" for k in iterable.keywords)
        callee = iterable.func.id if isinstance(iterable.func, ast.Name) and plain else None
        arguments, parts = iterable.args, target.elts
        if callee == "enumerate" and len(arguments) == 1 and len(parts) == 2:
            length = ast.Call(func=ast.Name("len", ast.Load()), args=arguments, keywords=[])
            return [(parts[0], length), (parts[1], element_of(arguments[0]))]
        if callee == "zip" and len(arguments) == len(parts):
            return [(p, element_of(a)) for p, a in zip(parts, arguments, strict=True)]
    return [(target, element_of(iterable))]


def element_of(iterable: ast.expr) -> ast.expr:
    """What one item of an iterable is computed from.

    An item of a tuple or list display is one of its elements (an item of a starred element's
    iterable): written as `a or b`, which evaluates to one of its operands, so its length or
    shape is read from theirs and not from the display's, whose length is fixed by the source.
    An item of any other iterable (an array's row, a list's entry) is read from the whole
    iterable, which holds its shape, dtype and structure.
    """
    if not isinstance(iterable, _DISPLAYS) or not iterable.elts:
        return iterable
    items = [element_of(e.value) if isinstance(e, ast.Starred) else e for e in iterable.elts]
    return items[0] if len(items) == 1 else ast.BoolOp(op=ast.Or(), values=items)


def _position(target: ast.AST, name: str) -> tuple[int, ...]:
    """Where `name` sits in a nested tuple target (`(a, (b, c))`: c at (1, 1)); () where it
    is the whole target, is starred or is not there."""
    if not isinstance(target, (ast.Tuple, ast.List)):
        return ()
    for index, element in enumerate(target.elts):
        if isinstance(element, ast.Starred):
            return ()
        if isinstance(element, ast.Name) and element.id == name:
            return (index,)
        inner = _position(element, name)
        if inner:
            return (index, *inner)
    return ()


def dict_view(iterable: ast.expr) -> tuple[str, str] | None:
    """(view, name) for iterating a named dict: `d` and `d.keys()` ("keys", "d"),
    `d.values()` ("values", "d"), `d.items()` ("items", "d"); None for anything else."""
    if isinstance(iterable, ast.Name):
        return "keys", iterable.id
    if not isinstance(iterable, ast.Call) or iterable.args or iterable.keywords:
        return None
    view = iterable.func
    if not (isinstance(view, ast.Attribute) and isinstance(view.value, ast.Name)):
        return None
    return (view.attr, view.value.id) if view.attr in ("keys", "values", "items") else None


_READING_METHODS = frozenset({"keys", "values", "items", "get"})


def only_read(source: SourceFile, function: ast.AST, name: str) -> bool:
    """Whether every use of a local in `function` only reads it: iterated, subscripted, its
    `keys`/`values`/`items`/`get` called, or passed to `len`; a store into it, another
    method or a call that receives it might change what it holds."""
    for node in ast.walk(function):
        if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
            continue
        parent = source.parents.get(node)
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load):
            continue
        if isinstance(parent, ast.Attribute) and parent.attr in _READING_METHODS:
            continue
        if isinstance(parent, (ast.comprehension, ast.For)) and parent.iter is node:
            continue
        if isinstance(parent, ast.Call) and callee_name(parent) == "len":
            continue
        return False
    return True


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


class _BindingCollector(ast.NodeVisitor):
    """Collects a function's local bindings without entering nested functions or classes."""

    def __init__(self, function: ast.AST) -> None:
        self.bindings: dict[str, list[Binding]] = {}
        self.globals: set[str] = set()
        body = function.body if isinstance(function, (ast.Module, *FUNCTIONS)) else []
        for statement in body if isinstance(body, list) else [body]:
            self.visit(statement)
        for name in self.globals:
            self.bindings.pop(name, None)

    def _bind(self, target: ast.AST, value: ast.expr | None, owner: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append(Binding(value, owner))
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            if values is not None and len(values) == len(target.elts):
                for element, element_value in zip(target.elts, values, strict=True):
                    self._bind(element, element_value, owner)
            elif value is not None and not starred:
                # `total, n = carry`: n holds carry[1], whatever carry was built from.
                for position, element in enumerate(target.elts):
                    item = ast.Subscript(value, ast.Constant(position), ast.Load())
                    self._bind(element, ast.copy_location(item, value), owner)
            else:
                for element in target.elts:
                    self._bind(element, value, owner)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, value, owner)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target, node.value, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind(node.target, node.value, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target, node.value, node)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        for target, value in iteration_sources(node.target, node.iter):
            self._bind(target, value, node)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind(item.optional_vars, item.context_expr, node)
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                name = getattr(pattern, "name", None) or getattr(pattern, "rest", None)
                if isinstance(name, str):
                    self.bindings.setdefault(name, []).append(Binding(node.subject, node))
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.globals.update(node.names)

    def _opaque(self, name: str, owner: ast.AST) -> None:
        self.bindings.setdefault(name, []).append(Binding(None, owner))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._opaque(node.name, node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._opaque(node.name, node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._opaque(node.name, node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._opaque((alias.asname or alias.name).split(".")[0], node)

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._opaque(node.name, node)
        self.generic_visit(node)


def reads(expression: ast.AST, via: str | None = None) -> list[Read]:
    """The names an expression reads, in source order, each with the aspect of it that matters.

    `x.shape`, `x.size`, `len(x)`, `jnp.shape(x)` read x's shape (LENGTH for `len`), `x.ndim`
    and `jnp.ndim(x)` its NDIM, `x.dtype` its DTYPE; an aspect read of a larger expression is
    read of every name in it (`len(xs[0])` reads xs's LENGTH). A lambda's parameters are bound
    by whoever calls it, so its body counts only for the other names it reads.

    Args:
        expression: the expression (or statement) to read.
        via: the aspect of the expression's value that matters (None: the value itself); it
            flows to the names the value is computed from unless a nearer aspect replaces it.

    Returns:
        The reads; `via` None for a name whose value is read plainly.
    """
    found: list[Read] = []
    _walk(expression, via, (), False, found)
    return found


def _walk(
    node: ast.AST, via: str | None, path: tuple[str, ...], called: bool, out: list[Read]
) -> None:
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            out.append(Read(node.id, via, path, node, called))
    elif isinstance(node, ast.Attribute):
        aspect = ASPECT_ATTRIBUTES.get(node.attr)
        if aspect is not None:
            _walk(node.value, aspect, (), False, out)
        else:
            _walk(node.value, via, (node.attr, *path), called, out)
    elif isinstance(node, ast.Subscript):
        base, index = _constant_subscripts(node)
        if isinstance(base, ast.Name) and isinstance(base.ctx, ast.Load):
            out.append(Read(base.id, via, (), base, False, index))
        else:
            _walk(node.value, via, (), False, out)
            _walk(node.slice, None, (), False, out)
    elif isinstance(node, ast.Call):
        _walk_call(node, via, out)
    elif isinstance(node, ast.Lambda):
        _walk(node.args, via, (), False, out)
        body: list[Read] = []
        _walk(node.body, via, (), False, body)
        own = set(parameters(node))
        out.extend(read for read in body if read.name not in own)
    elif isinstance(node, _DISPLAYS) and via == LENGTH:
        # A display's length is written in the source: only a starred element adds to it.
        for element in node.elts:
            if isinstance(element, ast.Starred):
                _walk(element.value, LENGTH, (), False, out)
    elif isinstance(node, COMPREHENSIONS) and via == LENGTH:
        for generator in node.generators:
            _walk(generator.iter, LENGTH, (), False, out)
            for condition in generator.ifs:
                _walk(condition, None, (), False, out)
    else:
        for child in ast.iter_child_nodes(node):
            _walk(child, via, (), False, out)


def _constant_subscripts(node: ast.Subscript) -> tuple[ast.expr, tuple[int, ...]]:
    """`carry[1][0]` as (carry, (1, 0)); the subscripted node itself where a subscript is no
    constant int."""
    index: list[int] = []
    base: ast.expr = node
    while isinstance(base, ast.Subscript):
        key = base.slice
        if not (isinstance(key, ast.Constant) and type(key.value) is int):
            return node, ()
        index.insert(0, key.value)
        base = base.value
    return base, tuple(index)


def select(expression: ast.expr, index: tuple[int, ...]) -> tuple[ast.expr, tuple[int, ...]]:
    """The item of a tuple or list display that constant subscripts pick (`(h, reps)[1]` is
    `reps`), and the subscripts left: a `lax.scan` carry built as a display keeps what each
    slot holds. Selection stops at an expression that is no display or has a starred item."""
    while index:
        items = expression.elts if isinstance(expression, _DISPLAYS) else None
        if items is None or any(isinstance(i, ast.Starred) for i in items):
            break
        if not -len(items) <= index[0] < len(items):
            break
        expression, index = items[index[0]], index[1:]
    return expression, index


def _walk_call(node: ast.Call, via: str | None, out: list[Read]) -> None:
    """`len(x)`, `jnp.shape(x)` and `jnp.ndim(x)` read an aspect of x; other calls read their
    callee (as a function) and their arguments (whose aspects flow into the result).

    The length of `zip((a, b), ys)` or `enumerate([a, b])` keeps a display's fixed length;
    another function's result (`jnp.concatenate([a, b])`) may take its length from the
    display's items, so they are read as arguments of their own.
    """
    callee = node.func
    name = callee_name(node) or ""
    aspect = _ASPECT_FUNCTIONS.get(name)
    if aspect is not None and len(node.args) == 1 and not node.keywords:
        _walk(node.args[0], aspect, (), False, out)
        return
    _walk(callee, via if isinstance(callee, ast.Attribute) else None, (), True, out)
    by_items = via == LENGTH and name not in _LENGTH_KEEPING
    for argument in _spread(node.args):
        if by_items and isinstance(argument, _DISPLAYS):
            for item in _spread(argument.elts):
                _walk(item, via, (), False, out)
        else:
            _walk(argument, via, (), False, out)
    for keyword in node.keywords:
        _walk(keyword.value, via, (), False, out)


def _spread(arguments: Sequence[ast.expr]) -> Iterator[ast.expr]:
    """Positional arguments with starred displays spread out: `f(*(a, b))` passes a and b."""
    for argument in arguments:
        if isinstance(argument, ast.Starred) and isinstance(argument.value, _DISPLAYS):
            yield from _spread(argument.value.elts)
        else:
            yield argument


def callee_name(call: ast.Call) -> str | None:
    """The name a call's callee is written with: `f` in `f(x)`, `mod.f(x)` and `self.f(x)`
    (how a call to a helper wrapped by a decorator such as `jax.jit` is recognized)."""
    callee = call.func
    return callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)


def bind_call(
    source: SourceFile, call: ast.Call, function: ast.AST
) -> tuple[dict[str, ast.expr | None], bool]:
    """Maps a function's parameters to the argument expressions of a call to it.

    Returns the mapping and whether it is complete (no `*args`/`**kwargs` at the call, so an
    unmapped parameter took its default). A parameter maps to None where the call hides its
    value, such as the `self` of a method called through a variable.
    """
    if not isinstance(function, FUNCTIONS):
        return {}, False
    a = function.args
    positional = [p.arg for p in (*a.posonlyargs, *a.args)]
    bound: dict[str, ast.expr | None] = {}
    if source.is_method(function):
        receiver = _receiver(source, call, function)
        if receiver is not _UNBOUND and positional:
            bound[positional.pop(0)] = receiver  # type: ignore[assignment]
    for name, argument in zip(positional, call.args, strict=False):
        if isinstance(argument, ast.Starred):
            break
        bound[name] = argument
    names = set(parameters(function))
    bound.update({k.arg: k.value for k in call.keywords if k.arg in names})
    hidden = any(isinstance(arg, ast.Starred) for arg in call.args) or any(
        k.arg is None for k in call.keywords
    )
    return bound, not hidden


# Transformations returning a function that calls the one they wrap with the arguments it is
# called with: `jax.vmap(f, in_axes=(None, 0))(params, x)` calls f(params, x).
_WRAPPERS = frozenset(
    {
        *("jit", "pjit", "pmap", "vmap", "xmap", "shard_map", "vectorize", "named_call"),
        *("checkpoint", "remat", "grad", "value_and_grad", "jacfwd", "jacrev", "jacobian"),
        *("hessian", "make_jaxpr", "checkify"),
        *("filter_jit", "filter_vmap", "filter_grad", "filter_value_and_grad"),
    }
)


@dataclass(frozen=True)
class _Applier:
    """A function of JAX that calls the functions it is given with operands it is given.

    `signature` names its leading positional parameters, `functions` those holding the
    functions it calls (a list of them for `switch`), `passes` what each called function
    receives positionally: a parameter of the applier, `*name` for the items of a tuple it
    holds, None for a value the applier makes itself (a loop index). With `rest`, further
    positional arguments are passed on after those.
    """

    signature: tuple[str, ...]
    functions: tuple[str, ...]
    passes: tuple[str | None, ...]
    rest: bool = False


_MAPPING = _Applier(("f", "xs"), ("f",), ("xs",), rest=True)  # lax.map, jax.tree.map, map
_CALLING = _Applier(("fun",), ("fun",), (), rest=True)
_APPLIERS = {
    "scan": _Applier(("f", "init", "xs"), ("f",), ("init", "xs")),
    "fori_loop": _Applier(
        ("lower", "upper", "body_fun", "init_val"), ("body_fun",), (None, "init_val")
    ),
    "while_loop": _Applier(
        ("cond_fun", "body_fun", "init_val"), ("cond_fun", "body_fun"), ("init_val",)
    ),
    "cond": _Applier(("pred", "true_fun", "false_fun"), ("true_fun", "false_fun"), (), rest=True),
    "switch": _Applier(("index", "branches"), ("branches",), (), rest=True),
    "jvp": _Applier(("fun", "primals", "tangents"), ("fun",), ("*primals",)),
    "map": _MAPPING,
    "tree_map": _MAPPING,
    **dict.fromkeys(("eval_shape", "vjp", "linearize"), _CALLING),
}


def bind_invocation(
    source: SourceFile,
    call: ast.Call,
    function: ast.AST,
    values_of: Callable[[str], list[ast.expr]],
) -> tuple[dict[str, ast.expr | None], bool] | None:
    """Maps a function's parameters to the arguments of a call that ends up calling it through
    JAX: `jax.vmap(f)(a, b)`, `partial(f, a)(b)`, `lax.scan(f, init, xs)`, `step(a)` where
    `step = jax.jit(f)`, and the like (a direct call `f(a)` included).

    Args:
        source: the file defining `function`.
        call: the call expression that was running in the calling frame.
        function: the function that ran; a call expression denotes it by name (or, for a
            lambda, by being it).
        values_of: the expressions a name read at the call may hold (its assignments), to
            follow `fn = jax.checkpoint(f)` and the like.

    Returns:
        As `bind_call`, with a parameter mapped to None where the ways the call may reach the
        function disagree on its argument; None when the call does not denote the function.
    """
    bindings = [
        bind_call(source, direct, function)
        for direct in _invocations(call, values_of)
        if _denotes(direct.func, function)
    ]
    if not bindings:
        return None
    first = bindings[0][0]
    names = {name for bound, _ in bindings for name in bound}
    merged = {
        name: first.get(name)
        if all(b.get(name, _UNBOUND) is first.get(name) for b, _ in bindings)
        else None
        for name in names
    }
    return merged, all(c for _, c in bindings)


def _invocations(call: ast.Call, values_of: Callable[[str], list[ast.expr]]) -> list[ast.Call]:
    """The direct calls a call amounts to, one per function it may end up calling, with the
    argument expressions each receives (None where the transformation makes the value)."""
    applier = _APPLIERS.get(callee_name(call) or "")
    if applier is None or isinstance(call.func, ast.Call):
        unwrapped = _unwrap(call.func, list(call.args), list(call.keywords), values_of)
        return [_direct(*f) for f in unwrapped]
    given = _applier_arguments(call, applier)
    passed: list[Any] = []
    for name in applier.passes:
        value = given.get(name.lstrip("*")) if name is not None else None
        if name is not None and name.startswith("*"):
            passed += _spread_arguments(value)
        else:
            passed.append(value)
    passed += call.args[len(applier.signature) :] if applier.rest else []
    functions: list[ast.expr] = []
    for name in applier.functions:
        value = given.get(name)
        # `switch` is given a list of branches.
        functions += value.elts if isinstance(value, _DISPLAYS) else [value] if value else []
    found = [f for function in functions for f in _unwrap(function, passed, [], values_of)]
    return [_direct(*f) for f in found]


_CARRIES = {"scan": "init", "fori_loop": "init_val", "while_loop": "init_val"}


def carried_parameters(call: ast.Call, bound: dict[str, ast.expr | None]) -> dict[str, str]:
    """The parameters of a loop's body (or `while_loop` condition) that receive the loop's
    carry, each with the loop ("scan"): JAX traces them with abstract values, whatever the
    init held."""
    loop = callee_name(call) or ""
    init = (
        _applier_arguments(call, _APPLIERS[loop]).get(_CARRIES[loop]) if loop in _CARRIES else None
    )
    if init is None:
        return {}
    return {name: loop for name, argument in bound.items() if argument is init}


def _spread_arguments(value: ast.expr | None) -> list[ast.expr]:
    """What `f(*value)` passes: a display's elements, else an unknown number of arguments."""
    if isinstance(value, _DISPLAYS):
        return list(value.elts)
    return [ast.Starred(value if value is not None else ast.Constant(None), ast.Load())]


def _applier_arguments(call: ast.Call, applier: _Applier) -> dict[str, ast.expr]:
    """The applier's named parameters as the call passes them, by position or keyword."""
    given: dict[str, ast.expr] = {}
    for name, argument in zip(applier.signature, call.args, strict=False):
        if isinstance(argument, ast.Starred):
            break
        given[name] = argument
    given.update({k.arg: k.value for k in call.keywords if k.arg in applier.signature})
    return given


def _unwrap(
    function: ast.expr,
    args: list[Any],
    keywords: list[ast.keyword],
    values_of: Callable[[str], list[ast.expr]],
    followed: frozenset[str] = frozenset(),
) -> Iterator[tuple[ast.expr, list[Any], list[ast.keyword]]]:
    """The functions a callee expression may be, each with the arguments it then receives:
    through `partial` (which adds its own first), wrapping transformations, and the values of
    a name (each name followed once along a path, so `f = g; g = f` ends)."""
    if isinstance(function, ast.Call):
        inner = function.args[0] if function.args else None
        if inner is None or isinstance(inner, ast.Starred):
            return
        name = callee_name(function)
        if name == "partial":
            args = [*function.args[1:], *args]
            keywords = [*function.keywords, *keywords]
            yield from _unwrap(inner, args, keywords, values_of, followed)
        elif name in _WRAPPERS:
            yield from _unwrap(inner, args, keywords, values_of, followed)
        return
    if isinstance(function, ast.Name) and function.id not in followed:
        for value in values_of(function.id):
            yield from _unwrap(value, args, keywords, values_of, followed | {function.id})
    yield function, args, keywords


def _direct(function: ast.expr, args: list[Any], keywords: list[ast.keyword]) -> ast.Call:
    return ast.Call(func=function, args=args, keywords=keywords)


def _denotes(expression: ast.expr, function: ast.AST) -> bool:
    """Whether a callee expression names `function`: `f`, `mod.f` or `self.f` for a `def f`,
    the lambda itself for a lambda."""
    if isinstance(function, ast.Lambda):
        return expression is function
    name = getattr(function, "name", None)
    return name is not None and name == getattr(expression, "id", getattr(expression, "attr", None))


def parameter_defaults(function: ast.AST) -> dict[str, ast.expr]:
    """The default-value expression of every parameter that has one."""
    if not isinstance(function, FUNCTIONS):
        return {}
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    with_defaults = positional[len(positional) - len(a.defaults) :]
    defaults = {p.arg: d for p, d in zip(with_defaults, a.defaults, strict=True)}
    defaults.update({p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d})
    return defaults


_UNBOUND = object()


def _receiver(source: SourceFile, call: ast.Call, method: ast.AST) -> object:
    """The expression a method's first parameter is bound to at a call: the object before the
    dot, None where the call hides it, or _UNBOUND for a call through the class itself."""
    callee = call.func
    name = getattr(method, "name", "")
    decorators = {getattr(d, "id", None) for d in getattr(method, "decorator_list", [])}
    if isinstance(callee, ast.Attribute) and callee.attr == name:
        value = callee.value
        through_class = isinstance(value, ast.Name) and value.id == source.class_name(method)
        return _UNBOUND if through_class and "classmethod" not in decorators else value
    if name == "__call__":
        return callee
    return None
