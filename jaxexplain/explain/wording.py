"""The words of failure explanations: what each construct needs, the advice and rewrite texts,
and how a fix tells the caller to mark an argument static (a command-line flag or an API
parameter, from this one place)."""

from __future__ import annotations

import ast
import os
import shlex
from collections.abc import Iterator, Sequence
from typing import Any

from jaxexplain.explain.constructs import Construct
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.inputs.calling import BoundParam

TRIED = "jaxexplain tried rewriting these lines, but no rewrite passed its checks"

NEEDS = {
    "if": "a Python bool",
    "elif": "a Python bool",
    "while": "a Python bool",
    "ifexp": "a Python bool",
    "assert": "a Python bool",
    "comprehension": "a Python bool",
    "bool": "a Python bool",
    "for_range": "a Python int",
    "range": "a Python int",
    "int": "a Python int",
    "index": "a Python int",
    "slice": "Python ints",
    "shape": "Python ints (array shapes are fixed when jit traces)",
    "len": "a sized Python value",
    "float": "a Python float",
    "complex": "a Python complex",
    "item": "a Python number",
    "tolist": "Python numbers",
    "numpy": "a NumPy array",
    "bool_index": "a concrete mask (the result's shape depends on it)",
    "sized": "concrete values (its result's length depends on them)",
    "minmax": "a Python bool (to compare)",
}

ADVICE = {
    "if": "Select values with jnp.where(c, a, b) (elementwise; both sides are computed), or "
    "branch with lax.cond(pred, true_fn, false_fn, *operands) when a branch does more work "
    "(pred must be a scalar); lax.switch picks among several branches.",
    "while": "Loop on the device with lax.while_loop(cond_fun, body_fun, init); every carried "
    "value must keep its shape and dtype.",
    "for_range": "Loop on the device with lax.fori_loop(lower, upper, body_fun, init) or "
    "lax.scan; every carried value must keep its shape and dtype.",
    "bool_index": "A mask changes the result's shape, which jit fixes when it traces: keep the "
    "shape with jnp.where(mask, x, fill), or give a static bound: "
    "jnp.nonzero(mask, size=K, fill_value=...).",
    "numpy": "Use jax.numpy (jnp) instead of NumPy on traced values.",
    "item": "Keep the value as an array (drop .item()); a Python number cannot come from "
    "traced data.",
    "convert": "Keep the value as an array: x.astype(dtype) instead of int()/float()/bool(); a "
    "Python number cannot come from traced data.",
    "slice": "Slice with a traced start but a static size: lax.dynamic_slice(x, (start,), (size,)).",
    "shape": "Array shapes are fixed when jit traces: make the size static, or use a static "
    "upper bound and a mask.",
    "index": "Index an array instead of a Python sequence (jnp.asarray(seq)[i]), or choose "
    "among functions with lax.switch(i, branches, *operands).",
    "minmax": "Use jnp.maximum / jnp.minimum, which work elementwise on traced values.",
    "sized": "The result's length depends on the values, and jit fixes shapes when it traces: "
    "pass a static bound, size=K (with fill_value=...), as in jnp.unique(x, size=K, "
    "fill_value=-1) or jnp.nonzero(mask, size=K, fill_value=0), and mask the padding.",
    "len": "Use x.shape[0]: shapes are static, values are not.",
}

ADVICE["elif"] = ADVICE["ifexp"] = ADVICE["if"]
ADVICE["comprehension"] = (
    "A filter decides the result's length, which jit fixes when it traces: compute every "
    "element and mask with jnp.where(cond, value, fill), or bound it statically with "
    "jnp.nonzero(mask, size=K, fill_value=...)."
)
ADVICE["assert"] = (
    "An assert cannot check traced values while jit traces: check them at run time with "
    "jax.experimental.checkify.check(cond, message) (and checkify.checkify the function), or "
    "jax.debug.print the value; assert only on shapes and static values."
)
ADVICE["range"] = ADVICE["for_range"]
ADVICE["tolist"] = ADVICE["item"]
ADVICE["int"] = ADVICE["float"] = ADVICE["bool"] = ADVICE["complex"] = ADVICE["convert"]

REWRITE_TEXT = {
    "where": "Select with jnp.where instead of a Python branch",
    "safe_where": "Select with jnp.where, each side fed safe inputs where it is not selected "
    "(the double-where trick, so no NaN gradient leaks), instead of a Python branch",
    "cond": "Branch on the device with lax.cond",
    "fori_loop": "Loop on the device with lax.fori_loop",
    "while_loop": "Loop on the device with lax.while_loop",
    "jnp": "Keep the value in JAX",
    "numpy": "Compute it with NumPy, so that it stays a concrete value",
    "debug_print": "Print the traced value with jax.debug.print",
}

REWRITE_COST = {
    "where": "both sides are computed for every element, then one is selected",
    "safe_where": "both sides are computed for every element (on guarded inputs), then one "
    "is selected",
    "cond": "both branches are compiled; only the selected one runs",
    "fori_loop": "none: one compilation serves every trip count, and the loop is not unrolled",
    "while_loop": "none for jit; lax.while_loop cannot be reverse-differentiated (use lax.scan "
    "with a fixed length for gradients)",
    "jnp": "none: the value stays on the device",
    "numpy": "none: NumPy runs once, while jit traces, and its result is a constant of the trace",
    "debug_print": "a host callback each time the compiled function runs (it prints every call, "
    "not once while tracing)",
}


def capitalised(text: str) -> str:
    """The text with its first letter upper-case (a label that starts a sentence)."""
    return text[:1].upper() + text[1:]


def and_join(items: Iterator[str] | Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    words = [f"{w}" for w in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def it_or_them(names: Sequence[str]) -> str:
    """The pronoun for one name or several."""
    return "it" if len(names) == 1 else "them"


def relative_path(path: str) -> str:
    """`path` relative to the current directory where it lies below it, else as it is."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def expression_text(construct: Construct) -> str:
    """The source of what the construct needed concretely (the first line of a statement)."""
    if len(construct.needed) == 1:
        return ast.unparse(construct.needed[0])
    if isinstance(construct.node, ast.expr | ast.stmt):
        return ast.unparse(construct.node).split("\n")[0]
    return "?"


def names_tuple(names: Sequence[str]) -> str:
    """`('n',)` for one name, `('t_end', 'dt')` for several: the tuple as a user writes it."""
    return repr(tuple(names))


def jit_static(names: Sequence[str]) -> str:
    """`jax.jit(..., static_argnames=('n',))`: the fix in the user's own code."""
    return f"jax.jit(..., static_argnames={names_tuple(names)})"


def static_how(
    names: Sequence[str],
    values: dict[str, Any],
    params: dict[str, BoundParam],
    vocabulary: Vocabulary,
) -> str:
    """` (--static n=4, or jax.jit(..., static_argnames=('n',)))`: every way that works, as
    the caller writes it; the command line only where it can give each value. A name missing
    from `values` has no Python value jaxexplain knows (`--static n=VALUE`). A dict must become
    a hashable mapping first, which neither jaxexplain's options nor a literal can give."""
    jit = jit_static(names)
    lists = [n for n in names if isinstance(params[n].value, list)]
    if lists:
        jit += f", passing {and_join(lists)} as {'a tuple' if len(lists) == 1 else 'tuples'}"
    dicts = [n for n in names if type(params[n].value) is dict]
    if dicts:
        one = len(dicts) == 1
        jit += (
            f", passing {and_join(dicts)} as {'a hashable mapping' if one else 'hashable mappings'}"
            f" (flax.core.FrozenDict, or a frozen dataclass)"
        )
        return f" ({jit})"
    if vocabulary.caller == "program" or (
        vocabulary.caller == "cli" and None in _static_flags(names, values, params)
    ):
        return f" ({jit})"
    return f" ({static_option(names, values, params, vocabulary)}, or {jit})"


def static_option(
    names: Sequence[str],
    values: dict[str, Any],
    params: dict[str, BoundParam],
    vocabulary: Vocabulary,
) -> str:
    """How the caller gives jaxexplain `names` static: `--static n=4` (`--static n=VALUE` for a
    name missing from `values`) on the command line, the API function's own parameter through
    the API (`static={"n": 4}` to `trace_target`, `static_argnames=('n',)` to `trace`)."""
    if vocabulary.caller in ("api", "program"):
        return vocabulary.statics(names, {n: repr(values[n]) for n in names if n in values})
    return " ".join(flag or "" for flag in _static_flags(names, values, params))


def _static_flags(
    names: Sequence[str], values: dict[str, Any], params: dict[str, BoundParam]
) -> list[str | None]:
    return [
        static_flag(params[n], values[n]) if n in values else f"--static {n}=VALUE" for n in names
    ]


def static_flag(param: BoundParam, value: Any) -> str | None:
    """The command-line option that makes `param` static with `value`: `--static n=4` where a
    literal spells the value (quoted for the shell where it needs it: `'shape=(4, 5)'`);
    `--static NAME` alone for an object an --args-from factory gives, which that keeps as it
    is (`--static solver=...` would pass a string or Ellipsis); None where neither can (an
    object given through the Python API or a partial)."""
    if _spelled_by_literal(value):
        return "--static " + shlex.quote(f"{param.name}={value!r}")
    if param.source == "factory" and value is param.value:
        return f"--static {param.name} with no =VALUE, which keeps the --args-from factory's value"
    return None


def _spelled_by_literal(value: Any) -> bool:
    """`ast.literal_eval(repr(value))` gives the value back, as `--static` reads it."""
    try:
        read = ast.literal_eval(repr(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return type(read) is type(value) and bool(read == value)


def tuple_on_command_line(name: str, value: tuple[Any, ...]) -> str:
    """` (on the command line: --static n="(1, 2)")`: a hashable tuple as `--static` reads it,
    for a value the command line gave (the API's caller passes the tuple itself)."""
    return f' (on the command line: --static {name}="{value!r}")'
