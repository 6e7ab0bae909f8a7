"""The user's failing function as an AST: the failing node, the construct around it, and the
parameters and globals it reads.

Everything here is `ast` work on the user's own source (it traces nothing): find the function
a traceback frame ran, the exact expression the failing bytecode instruction belongs to (Python
3.11+ positions), name the construct that needed a concrete value, and follow the names it
reads back through local assignments (with the reads, bindings and call bindings of
`_source_ast` that the decision recorder uses too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Literal

from jaxexplain import _source_ast as sa

Position = tuple[int, int, int, int]
"""(line, end_line, column, end_column) of a bytecode instruction, as `co_positions` gives them."""


Aspect = Literal["value", "shape", "dtype"]


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


# jax.numpy functions whose result's length depends on the values, unless `size=` bounds it.
SIZED = frozenset(
    {"unique", "unique_values", "unique_counts", "unique_inverse", "unique_all", "nonzero"}
    | {"argwhere", "flatnonzero", "union1d", "intersect1d", "setdiff1d", "setxor1d"}
)


CONSTRUCT_LABELS = {
    "if": "an `if` test",
    "elif": "an `elif` test",
    "while": "a `while` test",
    "ifexp": "a conditional expression (`a if c else b`)",
    "assert": "an `assert`",
    "comprehension": "a comprehension's `if` filter",
    "for_range": "the `range()` of a `for` loop",
    "range": "`range()`",
    "int": "`int()`",
    "float": "`float()`",
    "bool": "`bool()`",
    "complex": "`complex()`",
    "len": "`len()`",
    "minmax": "Python's `max()`/`min()`",
    "item": "`.item()`",
    "tolist": "`.tolist()`",
    "numpy": "a NumPy function",
    "bool_index": "boolean-mask indexing",
    "slice": "slice bounds",
    "index": "indexing a Python sequence",
    "shape": "an array shape",
    "sized": "a call without `size=`",
    "call": "a call",
    "jit_static": "a static argument of a function JAX jits",
    "expression": "an expression",
}


@dataclass(frozen=True)
class UserFunction:
    """A function of the user's as source: its parsed file and its `def` node."""

    source: sa.SourceFile = field(compare=False, repr=False)
    node: FunctionNode

    @property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node's parent in the file."""
        return self.source.parents

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter name, in signature order."""
        return tuple(sa.parameters(self.node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """The nodes enclosing `node`, innermost first, up to the `def`."""
        while node in self.parents and node is not self.node:
            node = self.parents[node]
            yield node


@dataclass(frozen=True)
class Construct:
    """The Python construct that needed a concrete value, and the expressions it needed."""

    kind: str
    node: ast.AST
    needed: tuple[ast.expr, ...]

    @property
    def label(self) -> str:
        return CONSTRUCT_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class NameUse:
    """A name a value depends on, and through what: `via` is the aspect `_source_ast.reads`
    gives (None for the value itself)."""

    name: str
    via: str | None

    @property
    def aspect(self) -> Aspect:
        """Whether the value, the shape (`.shape`, `.ndim`, `len()`) or the dtype is needed."""
        if self.via is None:
            return "value"
        return "dtype" if self.via == sa.DTYPE else "shape"


# ---------------------------------------------------------------------------------------------
# Finding the user's function and the failing expression


def user_function(code: CodeType) -> UserFunction | None:
    """The `def` that compiled to `code`, found by name and first line in its file (the `def`
    line itself for a rewrite compiled without its decorators)."""
    source = sa.load_source(code.co_filename)
    if source is None:
        return None
    for node in ast.walk(source.tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == code.co_name
            and code.co_firstlineno in (sa.first_line(node), node.lineno)
        ):
            return UserFunction(source, node)
    return None


def contains(fn: UserFunction, position: Position) -> bool:
    """True when `position` lies inside the function's body."""
    line = position[0]
    return fn.node.lineno <= line <= (fn.node.end_lineno or line)


def node_at(fn: UserFunction, position: Position) -> ast.AST | None:
    """The innermost node spanning exactly `position`, else the innermost expression around it."""
    line, end_line, col, end_col = position
    exact: list[ast.AST] = []
    around: list[ast.AST] = []
    for node in ast.walk(fn.node):
        if not isinstance(node, ast.expr | ast.stmt) or node is fn.node:
            continue
        span = (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)
        if span == (line, end_line, col, end_col):
            exact.append(node)
        elif isinstance(node, ast.expr) and _encloses(span, position):
            around.append(node)
    found = exact or around
    return min(found, key=_span_size) if found else None


def _encloses(span: tuple[int | None, ...], position: Position) -> bool:
    line, end_line, col, end_col = span
    if line is None or end_line is None or col is None or end_col is None:
        return False
    return (line, col) <= (position[0], position[2]) and (end_line, end_col) >= (
        position[1],
        position[3],
    )


def _span_size(node: ast.AST) -> tuple[int, int]:
    lines = (getattr(node, "end_lineno", 0) or 0) - (getattr(node, "lineno", 0) or 0)
    cols = (getattr(node, "end_col_offset", 0) or 0) - (getattr(node, "col_offset", 0) or 0)
    return lines, cols


def call_at(fn: UserFunction, position: Position) -> ast.Call | None:
    """The call expression a caller frame is executing (its instruction spans the call)."""
    node = node_at(fn, position)
    while node is not None and not isinstance(node, ast.Call):
        node = fn.parents.get(node)
        if isinstance(node, ast.stmt):
            return None
    return node


# ---------------------------------------------------------------------------------------------
# What construct needed the concrete value


def classify(fn: UserFunction, node: ast.AST, source_line: str = "") -> Construct:
    """Names the construct around the failing expression and the expressions it needed concretely.

    Args:
        fn: the function the failing frame ran.
        node: the node at the failing instruction's position.
        source_line: the text of the failing line (tells `elif` from `if`).

    Returns:
        The construct; `needed` are the expressions whose concrete value Python asked for.
        (Python 3.12 inlines comprehensions and gives a filter's jump the position of the whole
        comprehension, so a comprehension node with filters stands for its filters.)
    """
    if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
        # A bare name tested (`if flag:`): the jump that needed it has the position of the
        # whole statement, not of its test.
        return Construct(_test_kind(node, source_line), node, (node.test,))
    test_owner = _test_owner(fn, node)
    if test_owner is not None:
        owner, test = test_owner
        kind = _test_kind(owner, source_line)
        return Construct(kind, owner, (node if isinstance(node, ast.expr) else test,))
    if isinstance(node, sa.COMPREHENSIONS):
        filters = tuple(test for generator in node.generators for test in generator.ifs)
        if filters:
            return Construct("comprehension", node.generators[0], filters)
    if isinstance(node, ast.Call):
        return _classify_call(fn, node)
    if isinstance(node, ast.Subscript):
        return Construct(_subscript_kind(node), node, (node.slice,))
    return Construct("expression", node, (node,) if isinstance(node, ast.expr) else ())


def _test_owner(fn: UserFunction, node: ast.AST) -> tuple[ast.AST, ast.expr] | None:
    """The if/while/ifexp/assert/comprehension whose test contains `node` (through and/or/not)."""
    child = node
    for parent in (node, *fn.ancestors(node)):
        if parent is not node and not isinstance(parent, ast.BoolOp | ast.UnaryOp):
            if isinstance(parent, ast.If | ast.While | ast.IfExp) and child is parent.test:
                return parent, parent.test
            if isinstance(parent, ast.Assert) and child is parent.test:
                return parent, parent.test
            if isinstance(parent, ast.comprehension) and child in parent.ifs:
                return parent, child  # type: ignore[return-value]
            return None
        child = parent
    return None


def _test_kind(owner: ast.AST, source_line: str) -> str:
    if isinstance(owner, ast.If):
        return "elif" if source_line.lstrip().startswith("elif") else "if"
    return {
        ast.While: "while",
        ast.IfExp: "ifexp",
        ast.Assert: "assert",
        ast.comprehension: "comprehension",
    }.get(type(owner), "expression")


def _classify_call(fn: UserFunction, call: ast.Call) -> Construct:
    func = call.func
    args = tuple(call.args) + tuple(k.value for k in call.keywords)
    if isinstance(func, ast.Name):
        if func.id == "range":
            parent = fn.parents.get(call)
            kind = "for_range" if isinstance(parent, ast.For) and parent.iter is call else "range"
            return Construct(kind, parent if kind == "for_range" else call, args)  # type: ignore[arg-type]
        if func.id in ("int", "float", "bool", "complex", "len"):
            return Construct(func.id, call, args)
        if func.id in ("max", "min"):
            return Construct("minmax", call, args)
    if isinstance(func, ast.Attribute):
        if func.attr in ("item", "tolist") and not call.args:
            return Construct(func.attr, call, (func.value,))
        if isinstance(func.value, ast.Name) and func.value.id in ("np", "numpy", "onp"):
            return Construct("numpy", call, args)
        if func.attr in ("zeros", "ones", "empty", "full", "arange", "reshape", "broadcast_to"):
            return Construct("shape", call, args)
        if func.attr in SIZED and not any(k.arg == "size" for k in call.keywords):
            return Construct("sized", call, args)
    return Construct("call", call, args)


def _subscript_kind(node: ast.Subscript) -> str:
    index = node.slice
    if isinstance(index, ast.Slice) or (
        isinstance(index, ast.Tuple) and any(isinstance(e, ast.Slice) for e in index.elts)
    ):
        return "slice"
    if isinstance(index, ast.Compare | ast.BoolOp) or (
        isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.Invert)
    ):
        return "bool_index"
    return "index"


# ---------------------------------------------------------------------------------------------
# What an expression reads, followed back to parameters and free names


def trace_back(
    fn: UserFunction, exprs: Sequence[ast.expr], at: ast.AST, via: str | None = None
) -> list[NameUse]:
    """The parameters and free names the expressions depend on, through local assignments.

    A local name is followed to the bindings that can reach `at`: those on earlier lines, and
    any inside a loop that also contains `at` (a later iteration sees them). A name a
    comprehension or a lambda binds (their frames fold into the function) is followed to the
    comprehension's iterable, or to the statement that holds the lambda and so calls it
    (`jax.vmap(lambda r: ...)(x)`). Aspects compose: a value computed from `x.shape` depends on
    x's shape even when its value is needed.

    Args:
        fn: the function the expressions belong to.
        exprs: the expressions whose value (or `via` aspect) was needed.
        at: the failing node (decides which bindings are reachable).
        via: the aspect of the expressions that was needed (None: their values).

    Returns:
        Parameters and free (global or closure) names, deduplicated, in discovery order.
    """
    bound = fn.source.bindings(fn.node)
    params = set(fn.parameters)
    line = getattr(at, "lineno", 0)
    loops = {id(n) for n in fn.ancestors(at) if isinstance(n, ast.For | ast.While)}
    roots: dict[NameUse, None] = {}
    seen: set[tuple[str, str | None, int]] = set()
    work = [read for expr in exprs for read in sa.reads(expr, via)]
    while work:
        read = work.pop(0)
        scoped = _scoped_origin(fn, read)
        key = (read.name, read.via, id(scoped))
        if key in seen:
            continue
        seen.add(key)
        if scoped is not None:
            work += sa.reads(scoped, read.via)
            continue
        reaching = [b for b in bound.get(read.name, []) if _reaches(fn, b.owner, line, loops, at)]
        if read.name in params or not reaching:
            roots.setdefault(NameUse(read.name, read.via))
        for binding in reaching:
            if binding.value is not None:
                work += sa.reads(binding.value, read.via)
    return list(roots)


def _scoped_origin(fn: UserFunction, read: sa.Read) -> ast.AST | None:
    """Where a name bound by an enclosing comprehension or lambda gets its value, else None."""
    iterable = fn.source.comprehension_binding(read.node, read.name)
    if iterable is not None:
        return iterable
    for node in fn.ancestors(read.node):
        if isinstance(node, ast.Lambda) and read.name in sa.parameters(node):
            return next((a for a in fn.ancestors(node) if isinstance(a, ast.stmt)), node)
    return None


def _reaches(fn: UserFunction, owner: ast.AST, line: int, loops: set[int], at: ast.AST) -> bool:
    """A binding reaches the failing line if it comes before it or shares a loop with it; a
    statement around `at` reaches it only if it binds before running its body (`for`, `with`,
    `match`)."""
    if owner is at or any(a is owner for a in fn.ancestors(at)):
        return isinstance(owner, ast.For | ast.With | ast.Match)
    if getattr(owner, "lineno", line) < line:
        return True
    return any(id(a) in loops for a in fn.ancestors(owner))
