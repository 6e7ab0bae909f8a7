"""Rewrites of the user's failing lines (`jnp.where`, `lax.cond`, `lax.fori_loop`,
`lax.while_loop`, `jnp` for `np`, `np` for `jnp` on constants), structured from their own source
so that `rewrite_checks` can compile, re-trace and check them; `ast` work only (it traces
nothing).
"""

from __future__ import annotations

import ast
import copy
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain._py_compat import FUNCTION_DEF_HAS_TYPE_PARAMS
from jaxexplain.explain.constructs import Construct, FunctionNode, UserFunction

BRANCH_HELPER = "__jaxexplain_branch__"


@dataclass(frozen=True)
class Rewrite:
    """A rewritten version of the user's function, and the new text of the lines it replaces.

    `kind` is "where", "safe_where", "cond", "fori_loop", "while_loop", "jnp", "numpy" or
    "debug_print"; `code` is the replacement for lines `first_line`..`last_line`, indented as
    the user's own; `forced` holds, for a `jnp.where` rewrite of an `if`, the original with its
    tests wrapped as calls to `BRANCH_HELPER(k, test)` (see `rewrite_checks` for how that is
    used).
    """

    kind: str
    function: FunctionNode
    code: str
    first_line: int
    last_line: int
    uses: frozenset[str]
    forced: tuple[FunctionNode, ...] = ()


@dataclass(frozen=True)
class Aliases:
    """The names under which the user's module knows `jax.numpy`, `jax.lax`, NumPy and `jax`."""

    jnp: str = "jnp"
    lax: str = "lax"
    np: str = "np"
    jax: str = "jax"


# ---------------------------------------------------------------------------------------------
# Rewrites of the user's lines


def rewrite_for(
    fn: UserFunction, construct: Construct, aliases: Aliases, *, from_constants: bool = False
) -> list[Rewrite]:
    """The structured rewrites that fit the construct, most specific first (none when none fit).

    Args:
        fn: the function that failed.
        construct: what failed in it.
        aliases: how the user's module names `jax.numpy`, `jax.lax` and NumPy.
        from_constants: the needed value depends on no traced argument (only jnp operations
            on constants made it a tracer), so computing it with NumPy keeps it concrete.

    Returns:
        Candidate rewrites; each still has to be re-traced and compared before it is trusted.
    """
    node = construct.node
    found: list[Rewrite | None] = []
    if from_constants:
        found.append(_constants_with_numpy(fn, construct, aliases))
    if construct.kind in ("if", "elif") and isinstance(node, ast.If):
        node = _outermost_if(fn, node)
        found += [
            _if_to_where(fn, node, aliases),
            _if_to_where(fn, node, aliases, safe=True),
            _if_to_cond(fn, node, aliases),
        ]
    elif construct.kind == "ifexp" and isinstance(node, ast.IfExp):
        found.append(_ifexp_to_where(fn, node, aliases))
    elif construct.kind == "for_range" and isinstance(node, ast.For):
        found.append(_for_to_fori_loop(fn, node, aliases))
    elif construct.kind == "while" and isinstance(node, ast.While):
        found.append(_while_to_while_loop(fn, node, aliases))
    elif construct.kind in ("numpy", "item", "tolist", "float", "int", "bool", "minmax"):
        found.append(_print_to_debug_print(fn, construct, aliases))
        found.append(_conversion_to_jnp(fn, construct, aliases))
    elif construct.kind == "bool_index" and isinstance(node, ast.Subscript):
        found.append(_masked_sum_to_where(fn, node, aliases))
    return [r for r in found if r is not None]


def _outermost_if(fn: UserFunction, node: ast.If) -> ast.If:
    """For a failing `elif`, the whole `if`/`elif` chain starts at the first `if`."""
    parent = fn.parents.get(node)
    while isinstance(parent, ast.If) and parent.orelse == [node]:
        node, parent = parent, fn.parents.get(parent)
    return node


def _if_chain(node: ast.If) -> tuple[list[ast.expr], list[list[ast.stmt]]]:
    """Tests and bodies of an if/elif/else chain; the last body is the `else` (maybe empty)."""
    tests: list[ast.expr] = []
    bodies: list[list[ast.stmt]] = []
    current: list[ast.stmt] = [node]
    while len(current) == 1 and isinstance(current[0], ast.If):
        branch = current[0]
        tests.append(branch.test)
        bodies.append(branch.body)
        current = branch.orelse
    bodies.append(current)
    return tests, bodies


def _block_of(fn: UserFunction, stmt: ast.stmt) -> list[ast.stmt] | None:
    """The statement list that holds `stmt`."""
    parent = fn.parents.get(stmt)
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block
    return None


def _following(fn: UserFunction, stmt: ast.stmt) -> list[ast.stmt]:
    block = _block_of(fn, stmt) or []
    index = next(i for i, s in enumerate(block) if s is stmt)
    return block[index + 1 :]


def _ends_in_return(body: Sequence[ast.stmt]) -> bool:
    """The body returns at its end and nowhere else, and does no control transfer of its own."""
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        return False
    inner = [n for s in body[:-1] for n in _walk_own(s)]
    return not any(isinstance(n, ast.Return | ast.Yield | ast.YieldFrom) for n in inner)


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk_own(child)


def _branches_returning(
    fn: UserFunction, node: ast.If
) -> tuple[list[ast.expr], list[list[ast.stmt]], list[ast.stmt]] | None:
    """Tests and bodies when every branch returns; the `else` may be the code after the `if`.

    Returns the tests, the bodies, and the statements the rewrite replaces (the `if`, and the
    code after it when that code is the implicit `else`).
    """
    tests, bodies = _if_chain(node)
    replaced: list[ast.stmt] = [node]
    if not bodies[-1]:
        after = _following(fn, node)
        if not _ends_in_return(after):
            return None
        bodies[-1] = after
        replaced += after
    if not all(_ends_in_return(b) for b in bodies):
        return None
    return tests, bodies, replaced


def _if_to_where(
    fn: UserFunction, node: ast.If, aliases: Aliases, *, safe: bool = False
) -> Rewrite | None:
    """`if c: return a` / `else: return b` (or `y = a` / `y = b`) -> one `jnp.where` per value.

    `safe` gives the "double where" form (kind "safe_where", one test only): each side reads
    the names the test reads through an inner `jnp.where` that feeds it ones where it is not
    selected, so that its NaN or infinite gradient there (`jnp.sqrt`, `jnp.log`, a division)
    never reaches the result's gradient.
    """
    guard = _side_guard(fn, node, aliases) if safe else None
    if safe and guard is None:
        return None
    returning = _branches_returning(fn, node)
    if returning is not None:
        tests, bodies, replaced = returning
        if not all(len(b) == 1 for b in bodies):
            return None
        values = [b[0].value for b in bodies]  # type: ignore[attr-defined]
        new: list[ast.stmt] = [ast.Return(_nested_where(tests, values, aliases, guard))]
    else:
        tests, bodies = _if_chain(node)
        replaced = [node]
        assigned = _single_assignments(bodies)
        if assigned is None:
            return None
        new = [
            ast.Assign(
                [ast.Name(name, ast.Store())],
                _nested_where(tests, [per_branch[name] for per_branch in assigned], aliases, guard),
            )
            for name in assigned[0]
        ]
    if guard is not None and not guard.changed:
        return None  # neither side reads what the test reads: nothing to guard
    forced = tuple(_forced_variants(fn, node, len(tests)))
    return _finish(fn, "safe_where" if safe else "where", replaced, new, {aliases.jnp}, forced)


class _SideGuard:
    """Rewrites one side of a `jnp.where` to read the test's names through an inner `where`."""

    def __init__(self, test: ast.expr, names: set[str], aliases: Aliases) -> None:
        self.test = test
        self.names = names
        self.aliases = aliases
        self.changed = False

    def __call__(self, value: ast.expr, selected_when: bool) -> ast.expr:
        guard = self

        class Guard(ast.NodeTransformer):
            def visit_Name(self, name: ast.Name) -> ast.expr:
                if not isinstance(name.ctx, ast.Load) or name.id not in guard.names:
                    return name
                guard.changed = True
                ones = _call(f"{guard.aliases.jnp}.ones_like", [ast.Name(name.id, ast.Load())])
                own = ast.Name(name.id, ast.Load())
                sides = [own, ones] if selected_when else [ones, own]
                return _call(f"{guard.aliases.jnp}.where", [copy.deepcopy(guard.test), *sides])

        return Guard().visit(copy.deepcopy(value))  # type: ignore[no-any-return]


def _side_guard(fn: UserFunction, node: ast.If, aliases: Aliases) -> _SideGuard | None:
    """The guard for an `if`/`else` on the names its test reads (parameters or earlier locals)."""
    tests, _ = _if_chain(node)
    if len(tests) != 1:
        return None
    modules = {aliases.jnp, aliases.np, aliases.jax, aliases.lax.split(".")[0]}
    read = {n.id for n in ast.walk(tests[0]) if isinstance(n, ast.Name)} - modules
    names = read & _defined_before(fn, node)
    return _SideGuard(tests[0], names, aliases) if names else None


def _single_assignments(bodies: list[list[ast.stmt]]) -> list[dict[str, ast.expr]] | None:
    """Per branch, each assigned name's new value, when branches only assign names once each.

    A name a branch leaves alone keeps its value (`else` falls back to the name itself); a
    branch that reads a name another of its assignments writes is not a simple selection.
    """
    per_branch: list[dict[str, ast.expr]] = []
    for body in bodies:
        values: dict[str, ast.expr] = {}
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AugAssign):
                target = stmt.target
                value = ast.BinOp(
                    ast.Name(getattr(target, "id", ""), ast.Load()), stmt.op, stmt.value
                )
            else:
                return None
            if not isinstance(target, ast.Name) or target.id in values:
                return None
            if any(read.name in values for read in sa.reads(value)):
                return None
            values[target.id] = value
        per_branch.append(values)
    names = list(dict.fromkeys(n for values in per_branch for n in values))
    if not names:
        return None
    return [{n: values.get(n, ast.Name(n, ast.Load())) for n in names} for values in per_branch]


def _nested_where(
    tests: list[ast.expr],
    values: list[ast.expr],
    aliases: Aliases,
    guard: _SideGuard | None = None,
) -> ast.expr:
    """`jnp.where(t1, v1, jnp.where(t2, v2, v3))` for an if/elif/else chain; with a guard (one
    test only), each side reads the test's names through it."""
    if guard is not None:
        values = [guard(values[0], True), guard(values[1], False)]
    result = copy.deepcopy(values[-1])
    for test, value in zip(reversed(tests), reversed(values[:-1]), strict=True):
        result = _call(f"{aliases.jnp}.where", [copy.deepcopy(test), copy.deepcopy(value), result])
    return result


def _if_to_cond(fn: UserFunction, node: ast.If, aliases: Aliases) -> Rewrite | None:
    """An `if`/`else` whose branches run statements -> `lax.cond` over two branch functions.

    Names a branch assigns that exist before the `if` are passed in as operands, so that the
    branch functions can read their old values; a plain `if` chain with `elif`s is left alone.
    """
    tests, bodies = _if_chain(node)
    if len(tests) != 1:
        return None
    returning = _branches_returning(fn, node)
    before = _defined_before(fn, node)
    if returning is not None:
        _, bodies, replaced = returning
        operands = sorted({n for b in bodies for n in _assigned_names(b)} & before)
        results: list[str] = []
    else:
        replaced = [node]
        assigned = sorted({n for b in bodies for n in _assigned_names(b)})
        if not assigned or not all(
            n in before or all(n in _assigned_names(b) for b in bodies) for n in assigned
        ):
            return None
        if any(isinstance(n, ast.Return) for b in bodies for s in b for n in _walk_own(s)):
            return None
        operands = sorted(set(assigned) & before)
        results = assigned
    defs = [
        _branch_function(name, body, operands, results)
        for name, body in (("true_branch", bodies[0]), ("false_branch", bodies[1]))
    ]
    cond = _call(
        f"{aliases.lax}.cond",
        [
            copy.deepcopy(tests[0]),
            ast.Name("true_branch", ast.Load()),
            ast.Name("false_branch", ast.Load()),
            *(ast.Name(n, ast.Load()) for n in operands),
        ],
    )
    tail: ast.stmt = ast.Return(cond) if returning is not None else _assign(results, cond)
    return _finish(fn, "cond", replaced, [*defs, tail], {aliases.lax})


def _branch_function(
    name: str, body: list[ast.stmt], operands: list[str], results: list[str]
) -> ast.FunctionDef:
    statements = copy.deepcopy(body) or [ast.Pass()]
    if results:
        statements.append(ast.Return(_names_value(results)))
    return _function_def(name, operands, statements)


def _for_to_fori_loop(fn: UserFunction, node: ast.For, aliases: Aliases) -> Rewrite | None:
    """`for i in range(a, b): acc = f(acc, i)` -> `acc = lax.fori_loop(a, b, body, acc)`."""
    bounds = _range_bounds(node.iter)
    if bounds is None or node.orelse or not isinstance(node.target, ast.Name):
        return None
    carried = _loop_carried(fn, node)
    if carried is None:
        return None
    index = node.target.id
    lower, upper = bounds
    body = _loop_body_function(node.body, carried, [index])
    lambda_form = _single_update_lambda(node.body, carried, [index])
    func = lambda_form or ast.Name("body", ast.Load())
    loop = _call(f"{aliases.lax}.fori_loop", [lower, upper, func, _names_value(carried)])
    new: list[ast.stmt] = [_assign(carried, loop)]
    if lambda_form is None:
        new.insert(0, body)
    return _finish(fn, "fori_loop", [node], new, {aliases.lax})


def _range_bounds(iterable: ast.expr) -> tuple[ast.expr, ast.expr] | None:
    if not (isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)):
        return None
    if iterable.func.id != "range" or iterable.keywords or not 1 <= len(iterable.args) <= 2:
        return None
    args = [copy.deepcopy(a) for a in iterable.args]
    return (ast.Constant(0), args[0]) if len(args) == 1 else (args[0], args[1])


def _while_to_while_loop(fn: UserFunction, node: ast.While, aliases: Aliases) -> Rewrite | None:
    """`while c(x): x = f(x)` -> `x = lax.while_loop(cond, body, x)`."""
    if node.orelse:
        return None
    carried = _loop_carried(fn, node)
    if carried is None:
        return None
    test = _function_def(
        "cond", ["carry"] if len(carried) > 1 else carried, [ast.Return(copy.deepcopy(node.test))]
    )
    if len(carried) > 1:
        test.body.insert(0, _assign(carried, ast.Name("carry", ast.Load())))
    lambda_body = _single_update_lambda(node.body, carried, [])
    if lambda_body is not None:
        cond_lambda = ast.Lambda(_arguments(carried), copy.deepcopy(node.test))
        loop = _call(f"{aliases.lax}.while_loop", [cond_lambda, lambda_body, _names_value(carried)])
        return _finish(fn, "while_loop", [node], [_assign(carried, loop)], {aliases.lax})
    body = _loop_body_function(node.body, carried, [])
    loop = _call(
        f"{aliases.lax}.while_loop",
        [ast.Name("cond", ast.Load()), ast.Name("body", ast.Load()), _names_value(carried)],
    )
    return _finish(fn, "while_loop", [node], [test, body, _assign(carried, loop)], {aliases.lax})


def _loop_carried(fn: UserFunction, node: ast.For | ast.While) -> list[str] | None:
    """Names the loop body updates, when they all exist before the loop and nothing jumps out."""
    for stmt in node.body:
        for inner in _walk_own(stmt):
            if isinstance(inner, ast.Break | ast.Continue | ast.Return | ast.Yield):
                return None
    index = (
        {node.target.id}
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name)
        else set()
    )
    carried = sorted(_assigned_names(node.body) - index)
    if not carried or not set(carried) <= _defined_before(fn, node):
        return None
    return carried


def _single_update_lambda(
    body: list[ast.stmt], carried: list[str], leading: list[str]
) -> ast.Lambda | None:
    """`acc = acc + f(i)` as `lambda i, acc: acc + f(i)`, for a one-statement, one-name body."""
    if len(body) != 1 or len(carried) != 1:
        return None
    stmt = body[0]
    name = carried[0]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], copy.deepcopy(stmt.value)
    elif isinstance(stmt, ast.AugAssign):
        target = stmt.target
        value = ast.BinOp(ast.Name(name, ast.Load()), stmt.op, copy.deepcopy(stmt.value))
    else:
        return None
    if not (isinstance(target, ast.Name) and target.id == name):
        return None
    return ast.Lambda(_arguments([*leading, name]), value)


def _loop_body_function(
    body: list[ast.stmt], carried: list[str], leading: list[str]
) -> ast.FunctionDef:
    """`def body(i, carry)`: unpacks the carried names, runs the user's body, returns them."""
    if len(carried) == 1:
        return _function_def(
            "body",
            [*leading, carried[0]],
            [*copy.deepcopy(body), ast.Return(_names_value(carried))],
        )
    statements = [
        _assign(carried, ast.Name("carry", ast.Load())),
        *copy.deepcopy(body),
        ast.Return(_names_value(carried)),
    ]
    return _function_def("body", [*leading, "carry"], statements)


def _ifexp_to_where(fn: UserFunction, node: ast.IfExp, aliases: Aliases) -> Rewrite | None:
    """`a if c else b` -> `jnp.where(c, a, b)`, inside the user's statement."""
    where = _call(
        f"{aliases.jnp}.where",
        [copy.deepcopy(node.test), copy.deepcopy(node.body), copy.deepcopy(node.orelse)],
    )
    rewrite = _replace_expression(fn, node, where, "where", {aliases.jnp})
    if rewrite is None:
        return None
    return Rewrite(**{**rewrite.__dict__, "forced": tuple(_forced_variants(fn, node, 1))})


def _conversion_to_jnp(fn: UserFunction, construct: Construct, aliases: Aliases) -> Rewrite | None:
    """`np.f(x)` -> `jnp.f(x)`; `x.item()` -> `x`; `float(x)` -> `jnp.asarray(x, dtype=float)`;
    `max(a, b)` -> `jnp.maximum(a, b)`: the value stays an array instead of leaving JAX."""
    call = construct.node
    if not isinstance(call, ast.Call):
        return None
    replacement: ast.expr | None = None
    func = call.func
    if construct.kind == "numpy" and isinstance(func, ast.Attribute):
        import importlib

        if hasattr(importlib.import_module("jax.numpy"), func.attr):
            replacement = ast.Call(
                ast.Attribute(ast.Name(aliases.jnp, ast.Load()), func.attr, ast.Load()),
                copy.deepcopy(call.args),
                copy.deepcopy(call.keywords),
            )
    elif construct.kind in ("item", "tolist") and isinstance(func, ast.Attribute):
        replacement = copy.deepcopy(func.value)
    elif construct.kind in ("float", "int", "bool") and len(call.args) == 1:
        replacement = _call(
            f"{aliases.jnp}.asarray",
            [copy.deepcopy(call.args[0])],
            {"dtype": ast.Name(construct.kind, ast.Load())},
        )
    elif construct.kind == "minmax" and len(call.args) == 2 and not call.keywords:
        name = "maximum" if getattr(func, "id", "") == "max" else "minimum"
        replacement = _call(f"{aliases.jnp}.{name}", copy.deepcopy(call.args))
    if replacement is None:
        return None
    return _replace_expression(fn, call, replacement, "jnp", {aliases.jnp})


def _print_to_debug_print(
    fn: UserFunction, construct: Construct, aliases: Aliases
) -> Rewrite | None:
    """`print(f"lr={float(lr):.5f}")` -> `jax.debug.print("lr={:.5f}", lr)`: the conversion
    only fed a print, and jax.debug.print prints the traced value each time the compiled
    function runs (a Python print, with the value made concrete, can run only while tracing).
    """
    call = next((a for a in fn.ancestors(construct.node) if isinstance(a, ast.Call)), None)
    statement = fn.parents.get(call) if call is not None else None
    if (
        call is None
        or not isinstance(call.func, ast.Name)
        or call.func.id != "print"
        or call.keywords
        or not isinstance(statement, ast.Expr)
    ):
        return None
    pieces: list[str] = []
    values: list[ast.expr] = []
    for argument in call.args:
        parts = argument.values if isinstance(argument, ast.JoinedStr) else [argument]
        text = ""
        for part in parts:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                text += part.value.replace("{", "{{").replace("}", "}}")
            elif isinstance(part, ast.FormattedValue):
                spec = part.format_spec
                if spec is not None and not _constant_text(spec):
                    return None
                conversion = f"!{chr(part.conversion)}" if part.conversion > 0 else ""
                text += "{" + conversion + (f":{_constant_text(spec)}" if spec else "") + "}"
                values.append(_unconverted(part.value))
            else:
                text += "{}"
                values.append(_unconverted(part))
        pieces.append(text)
    debug_print = ast.Expr(
        _call(f"{aliases.jax}.debug.print", [ast.Constant(" ".join(pieces)), *values])
    )
    return _finish(fn, "debug_print", [statement], [debug_print], {aliases.jax})


def _constant_text(spec: ast.expr) -> str:
    """A format spec's text where it is all constant (`.5f`), else ""."""
    if not isinstance(spec, ast.JoinedStr):
        return ""
    parts = spec.values
    if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
        return ""
    return "".join(p.value for p in parts)  # type: ignore[attr-defined]


def _unconverted(value: ast.expr) -> ast.expr:
    """The value a `float(x)` / `int(x)` / `x.item()` converted, which jax.debug.print takes
    as the array it is."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("float", "int", "bool")
        and len(value.args) == 1
        and not value.keywords
    ):
        return copy.deepcopy(value.args[0])
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "item"
        and not value.args
    ):
        return copy.deepcopy(value.func.value)
    return copy.deepcopy(value)


def _masked_sum_to_where(fn: UserFunction, node: ast.Subscript, aliases: Aliases) -> Rewrite | None:
    """`x[mask].sum()` -> `jnp.where(mask, x, 0).sum()`: same total, a fixed shape."""
    parent = fn.parents.get(node)
    call = fn.parents.get(parent) if parent is not None else None
    if not (
        isinstance(parent, ast.Attribute)
        and parent.attr == "sum"
        and isinstance(call, ast.Call)
        and call.func is parent
    ):
        return None
    where = _call(
        f"{aliases.jnp}.where",
        [copy.deepcopy(node.slice), copy.deepcopy(node.value), ast.Constant(0)],
    )
    return _replace_expression(fn, node, where, "where", {aliases.jnp})


def _constants_with_numpy(
    fn: UserFunction, construct: Construct, aliases: Aliases
) -> Rewrite | None:
    """`jnp.f(...)` -> `np.f(...)` in the needed expression: NumPy values stay concrete."""
    import numpy

    if len(construct.needed) != 1:
        return None
    needed = construct.needed[0]
    new = copy.deepcopy(needed)
    changed = False
    for node in ast.walk(new):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == aliases.jnp
            and hasattr(numpy, node.attr)
        ):
            node.value.id = aliases.np
            changed = True
    if not changed:
        return None
    return _replace_expression(fn, needed, new, "numpy", {aliases.np})


def _replace_expression(
    fn: UserFunction, old: ast.AST, new: ast.expr, kind: str, uses: set[str]
) -> Rewrite | None:
    """The function with one expression replaced; the code shown is the enclosing statement
    (only its header line for an `if`, `while` or `for`)."""
    statement = next((a for a in fn.ancestors(old) if isinstance(a, ast.stmt)), None)
    if statement is None or statement is fn.node:
        return None
    function = copy.deepcopy(fn.node)
    index = _index_map(fn.node, function)
    holder = index[id(fn.parents[old])]
    _swap_child(holder, index[id(old)], new)
    new_statement = index[id(statement)]
    ast.fix_missing_locations(function)
    text, last_line = _statement_text(statement, new_statement)
    return Rewrite(
        kind,
        _strip_decorators(function),
        _indent_like(statement, text),
        statement.lineno,
        last_line,
        frozenset(uses),
    )


def read_name_instead(fn: UserFunction, old: ast.expr, name: str, kind: str) -> Rewrite | None:
    """`fn` (say, the target) with the expression `old` (in it or in a function nested in it)
    replaced by a read of `name`: a loop body that reads the enclosing function's argument
    instead of a carry slot that held it."""
    return _replace_expression(fn, old, ast.Name(name, ast.Load()), kind, set())


def _statement_text(old: ast.stmt, new: ast.AST) -> tuple[str, int]:
    """The new statement's text and the old statement's last line; a compound statement shows
    only its header, which is all that changed."""
    if isinstance(old, ast.For) and isinstance(new, ast.For):
        header = f"for {ast.unparse(new.target)} in {ast.unparse(new.iter)}:"
        return header, old.iter.end_lineno or old.lineno
    if isinstance(old, ast.If | ast.While) and isinstance(new, ast.If | ast.While):
        keyword = "while" if isinstance(new, ast.While) else "if"
        return f"{keyword} {ast.unparse(new.test)}:", old.test.end_lineno or old.lineno
    return ast.unparse(new), old.end_lineno or old.lineno


def _finish(
    fn: UserFunction,
    kind: str,
    replaced: list[ast.stmt],
    new: list[ast.stmt],
    uses: set[str],
    forced: tuple[FunctionNode, ...] = (),
) -> Rewrite:
    """The function with the statements `replaced` swapped for `new`, and the new lines' text."""
    for stmt in new:
        ast.copy_location(stmt, replaced[0])
    function = copy.deepcopy(fn.node)
    index = _index_map(fn.node, function)
    block = _block_of(fn, replaced[0])
    assert block is not None
    holder = index[id(fn.parents[replaced[0]])]
    start = next(i for i, s in enumerate(block) if s is replaced[0])
    for name in ("body", "orelse", "finalbody"):
        if getattr(fn.parents[replaced[0]], name, None) is block:
            getattr(holder, name)[start : start + len(replaced)] = new
    ast.fix_missing_locations(function)
    text = "\n".join(ast.unparse(stmt) for stmt in new)
    return Rewrite(
        kind,
        _strip_decorators(function),
        _indent_like(replaced[0], text),
        replaced[0].lineno,
        replaced[-1].end_lineno or replaced[-1].lineno,
        frozenset(uses),
        forced,
    )


def _forced_variants(fn: UserFunction, node: ast.If | ast.IfExp, count: int) -> list[FunctionNode]:
    """A copy of the function whose chain tests are wrapped as `BRANCH_HELPER(k, test)`.

    The helper (supplied at run time) records each test's concrete value and answers whether
    branch k is the one to take, so every branch can be run on the whole input eagerly.
    """
    function = copy.deepcopy(fn.node)
    index = _index_map(fn.node, function)
    chain: Any = index[id(node)]
    for k in range(count):
        chain.test = _call(BRANCH_HELPER, [ast.Constant(k), chain.test])
        following = chain.orelse
        chain = following[0] if isinstance(following, list) and following else following
    ast.fix_missing_locations(function)
    return [_strip_decorators(function)]


# ---------------------------------------------------------------------------------------------
# Small AST helpers


def _defined_before(fn: UserFunction, node: ast.AST) -> set[str]:
    """Parameters and names bound on lines before `node` (a name the loop or branch may read)."""
    line = getattr(node, "lineno", 0)
    names = set(fn.parameters)
    for name, bindings in fn.source.bindings(fn.node).items():
        if any(getattr(b.owner, "lineno", line) < line for b in bindings):
            names.add(name)
    return names


def _assigned_names(body: Sequence[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in body:
        for node in _walk_own(stmt):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.NamedExpr):
                targets = [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _call(func: str, args: list[ast.expr], keywords: dict[str, ast.expr] | None = None) -> ast.Call:
    head, *rest = func.split(".")
    target: ast.expr = ast.Name(head, ast.Load())
    for attr in rest:
        target = ast.Attribute(target, attr, ast.Load())
    return ast.Call(target, args, [ast.keyword(k, v) for k, v in (keywords or {}).items()])


def _names_value(names: list[str]) -> ast.expr:
    if len(names) == 1:
        return ast.Name(names[0], ast.Load())
    return ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())


def _assign(names: list[str], value: ast.expr) -> ast.Assign:
    if len(names) == 1:
        return ast.Assign([ast.Name(names[0], ast.Store())], value)
    return ast.Assign([ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())], value)


def _arguments(names: Sequence[str]) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[],
        args=[ast.arg(n) for n in names],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )


def _function_def(name: str, params: Sequence[str], body: list[ast.stmt]) -> ast.FunctionDef:
    node = ast.FunctionDef(
        name=name, args=_arguments(params), body=body, decorator_list=[], returns=None
    )
    if FUNCTION_DEF_HAS_TYPE_PARAMS:
        node.type_params = []  # type: ignore[attr-defined]  # 3.12+ only, mypy checks for 3.11
    return node


def _index_map(original: ast.AST, clone: ast.AST) -> dict[int, ast.AST]:
    """Maps each node of `original` (by id) to its counterpart in a deep copy of it."""
    return {id(a): b for a, b in zip(ast.walk(original), ast.walk(clone), strict=True)}


def _swap_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    ast.copy_location(new, old)
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return


def _strip_decorators(function: FunctionNode) -> FunctionNode:
    """The rewritten function is re-traced through the plan's own jit, not its decorators."""
    function.decorator_list = []
    return function


def _indent_like(stmt: ast.stmt, text: str) -> str:
    """The new code indented as the user's statement it replaces."""
    return textwrap.indent(text, " " * stmt.col_offset)


def compile_function(function: FunctionNode, filename: str, freevars: Sequence[str]) -> CodeType:
    """Compiles a rewritten `def` to a code object with the same free variables as the original.

    The `def` is compiled inside a scratch outer function that binds `freevars`, so that the new
    code object can replace the old one's `__code__` with the same closure cells.

    Args:
        function: the rewritten function definition (line numbers are the user's own).
        filename: the user's file, so that tracebacks and jaxpr sources name it.
        freevars: the original code's `co_freevars`.

    Returns:
        The code object of the rewritten function.
    """
    inner = copy.deepcopy(function)
    body: list[ast.stmt] = [
        ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None)) for v in freevars
    ]
    body += [inner, ast.Return(ast.Name(inner.name, ast.Load()))]
    outer = _function_def("__jaxexplain_outer__", [], body)
    module = ast.Module([ast.copy_location(outer, inner)], [])
    ast.fix_missing_locations(module)
    compiled = compile(module, filename, "exec")
    outer_code = next(c for c in compiled.co_consts if isinstance(c, CodeType))
    return next(
        c for c in outer_code.co_consts if isinstance(c, CodeType) and c.co_name == inner.name
    )
