"""Parses `--static` and `--arg` values: literals, jaxpr-style array specs, and pytrees of specs.

Parsing is JAX-free (a usage error must not pay for importing JAX); `to_abstract` turns the
parsed specs into `jax.ShapeDtypeStruct`s once the target is about to be traced.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, Vocabulary

DTYPE_ALIASES = {
    "f16": "float16",
    "bf16": "bfloat16",
    "f32": "float32",
    "f64": "float64",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
    "c64": "complex64",
    "c128": "complex128",
    "bool": "bool",
    "f8_e4m3fn": "float8_e4m3fn",
    "f8_e5m2": "float8_e5m2",
}
_LONG_NAMES = {name: name for name in DTYPE_ALIASES.values()}
_SHORT_FOR = {long: short for short, long in DTYPE_ALIASES.items()}

_SPEC_RE = re.compile(
    r"^\s*(?P<weak>~)?(?P<dtype>[a-z][a-z0-9_]*(?:<\w+>)?)\[(?P<shape>[\d\s,]*)\]\s*$"
)
# The dimensions inside the brackets: none, or numbers separated by single commas.
_DIMS_RE = re.compile(r"^\s*(?:\d+\s*(?:,\s*\d+\s*)*,?\s*)?$")
# XLA's dimensions are signed 64-bit integers.
MAX_DIMENSION = 2**63 - 1
# What `ast.literal_eval` raises on text that is no literal: a syntax error, an unhashable dict
# key or set element (`{[1]: 2}`), a literal too deep or too large for the parser.
_NOT_A_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)
# New-style PRNG key arrays (`jax.random.key`), as JAX prints their dtype: key<fry>[] is one key.
KEY_IMPLS = {"key<fry>": "threefry2x32", "key<rbg>": "rbg", "key<urbg>": "unsafe_rbg"}


@dataclass(frozen=True)
class ShardingSpec:
    """Where an array spec's leaf lies: `@P('data', None)`, optionally `@data=2,model=2`.

    `spec` holds the PartitionSpec's entries (None, an axis name, or a tuple of names); `mesh`
    the mesh axes in order with their sizes, None for "all the devices" (only one axis may
    leave its size out). Without a written mesh, the axes are those the spec names, and one
    axis spans every device: `f32[8,128]@P('data',None)` lies on a 1-D mesh `data` over all.
    """

    spec: tuple[Any, ...]
    mesh: tuple[tuple[str, int | None], ...]

    def __str__(self) -> str:
        entries = ", ".join(repr(e) for e in self.spec)
        axes = ",".join(name if size is None else f"{name}={size}" for name, size in self.mesh)
        return f"@P({entries})@{axes}"


@dataclass(frozen=True)
class ArraySpec:
    """An abstract array: shape and dtype, as written `f32[8,128]` (`~f32[]` for weak types, as JAX prints them), with a sharding where written `@P(...)`."""

    shape: tuple[int, ...]
    dtype: str
    weak_type: bool = False
    sharding: ShardingSpec | None = None

    def __str__(self) -> str:
        placed = "" if self.sharding is None else str(self.sharding)
        return format_aval(self.shape, self.dtype, self.weak_type) + placed


def format_aval(shape: tuple[int, ...], dtype: str, weak_type: bool = False) -> str:
    """Writes an abstract value in jaxpr notation, e.g. `f32[8,128]`, weak types as JAX does: `~f32[]`."""
    short = _SHORT_FOR.get(dtype, dtype)
    text = f"{short}[{','.join(str(d) for d in shape)}]"
    return "~" + text if weak_type else text


def parse_array_spec(text: str) -> ArraySpec | None:
    """Reads `f32[8,128]`, `int32[]`, `bf16[2,3]`, `bool[4]`, `~f32[]`, each optionally placed
    `@P('data',None)` or `@P('data','model')@data=2,model=2`; None when `text` is no spec."""
    head, at, placement = text.partition("@")
    spec = _parse_unplaced_spec(head if at else text)
    if spec is None or not at:
        return spec
    return ArraySpec(spec.shape, spec.dtype, spec.weak_type, parse_sharding(placement, text))


_PARTITION_RE = re.compile(r"^\s*P\((?P<entries>.*)\)\s*$")
_MESH_AXIS_RE = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*(?:=\s*(?P<size>\d+)\s*)?$")


def parse_sharding(text: str, whole: str) -> ShardingSpec:
    """The `P(...)` after a spec's `@`, and the mesh after a second `@` if written."""
    partition, at, mesh_text = text.partition("@")
    match = _PARTITION_RE.match(partition)
    entries = _partition_entries(match["entries"]) if match else None
    if entries is None:
        raise UsageError(
            f"cannot read the sharding in {whole.strip()!r}: write it as a PartitionSpec of "
            f"mesh axis names and None, e.g. f32[8,128]@P('data',None), optionally with the "
            f"mesh after it: f32[8,8]@P('data','model')@data=2,model=2"
        )
    named = [n for e in entries for n in (e if isinstance(e, tuple) else (e,)) if n is not None]
    mesh = _mesh_axes(mesh_text, whole) if at else tuple((n, None) for n in dict.fromkeys(named))
    _check_mesh(entries, named, mesh, whole)
    return ShardingSpec(entries, mesh)


def _partition_entries(text: str) -> tuple[Any, ...] | None:
    """`'data', None` as ('data', None); None where an entry is no name, None or names."""
    try:
        entries = ast.literal_eval(f"({text},)") if text.strip() else ()
    except _NOT_A_LITERAL:
        return None
    valid = all(
        e is None
        or isinstance(e, str)
        or (isinstance(e, tuple) and all(isinstance(n, str) for n in e))
        for e in entries
    )
    return tuple(entries) if valid else None


def _mesh_axes(text: str, whole: str) -> tuple[tuple[str, int | None], ...]:
    axes = []
    for part in text.split(","):
        match = _MESH_AXIS_RE.match(part)
        if match is None:
            raise UsageError(
                f"cannot read the mesh in {whole.strip()!r}: write its axes as NAME=SIZE "
                f"separated by commas (one axis may leave out its size to span the rest of "
                f"the devices), e.g. @data=2,model=2"
            )
        axes.append((match["name"], int(match["size"]) if match["size"] else None))
    return tuple(axes)


def _check_mesh(
    entries: tuple[Any, ...],
    named: list[str],
    mesh: tuple[tuple[str, int | None], ...],
    whole: str,
) -> None:
    """The mesh must hold every axis the spec names, each once, and at most one axis sized
    by the devices left."""
    names = [name for name, _ in mesh]
    problem = (
        "it names no mesh axis, so write the mesh after it (e.g. @P(None,None)@data)"
        if not mesh
        else "an axis appears twice in the spec"
        if len(named) != len(set(named))
        else "an axis appears twice in the mesh"
        if len(names) != len(set(names))
        else f"the spec names axes the mesh lacks: {sorted(set(named) - set(names))}"
        if set(named) - set(names)
        else "more than one mesh axis leaves out its size"
        if sum(size is None for _, size in mesh) > 1
        else None
    )
    if problem is not None:
        raise UsageError(f"cannot place {whole.strip()!r}: {problem}")


def _parse_unplaced_spec(text: str) -> ArraySpec | None:
    match = _SPEC_RE.match(text)
    if match is None:
        return None
    dtype_word = match["dtype"]
    dtype = DTYPE_ALIASES.get(dtype_word) or _LONG_NAMES.get(dtype_word)
    if dtype_word in KEY_IMPLS:
        dtype = dtype_word
    if dtype is None:
        raise UsageError(
            f"unknown dtype {dtype_word!r} in array spec {text.strip()!r}; use one of "
            f"{', '.join(sorted(set(DTYPE_ALIASES) | set(_LONG_NAMES) | set(KEY_IMPLS)))}"
        )
    return ArraySpec(_dimensions(match["shape"], text), dtype, bool(match["weak"]))


def _dimensions(shape: str, text: str) -> tuple[int, ...]:
    """The dimensions of a spec's brackets; an empty one (`f32[1,,2]`) or one past XLA's 64-bit
    range is a usage error, never silently dropped or left to overflow later."""
    if not _DIMS_RE.match(shape):
        raise UsageError(
            f"cannot read the shape in array spec {text.strip()!r}: write the dimensions as "
            f"numbers separated by single commas, e.g. f32[8,128]"
        )
    digits = [d.strip().lstrip("0") or "0" for d in shape.split(",") if d.strip()]
    if any(len(d) > len(str(MAX_DIMENSION)) or int(d) > MAX_DIMENSION for d in digits):
        raise UsageError(
            f"a dimension in array spec {text.strip()!r} is larger than XLA allows "
            f"(at most {MAX_DIMENSION})"
        )
    return tuple(map(int, digits))


def split_assignment(text: str, option: str, *, dotted: bool = False) -> tuple[str, str]:
    """Splits `NAME=VALUE` (with `dotted`, also `NAME.FIELD=VALUE`), with a usage error that
    shows the expected form."""
    name, sep, value = text.partition("=")
    name = name.strip()
    parts = name.split(".") if dotted else [name]
    if not sep or not all(part.isidentifier() for part in parts):
        raise UsageError(f"{option} expects NAME=VALUE (for example {option} n=3), got {text!r}")
    return name, value.strip()


class GivenValue:
    """What `--static NAME` alone stands for: make static the value NAME is already given (by
    an --args-from factory or a partial), an object that no literal on the command line can
    spell (an optimistix solver, a config dataclass)."""

    def __repr__(self) -> str:
        return "<the value --args-from gives>"


GIVEN = GivenValue()


def split_static(text: str, *, factory: bool) -> tuple[str, Any]:
    """`--static NAME=VALUE` as (NAME, the parsed literal); `--static NAME` alone, with an
    --args-from `factory` to give the value, as (NAME, GIVEN)."""
    name = text.strip()
    if "=" in text or not name.isidentifier():
        name, value = split_assignment(text, "--static")
        return name, parse_static_value(value, CLI)
    if not factory:
        raise UsageError(
            f"--static expects NAME=VALUE (for example --static {name}=3), got {text!r}; NAME "
            f"alone makes static the value an --args-from factory gives NAME, and there is none"
        )
    return name, GIVEN


def parse_static_value(text: str, vocabulary: Vocabulary) -> Any:
    """A static value: a Python literal (`ast.literal_eval`, never `eval`); a bare word is a string.

    The usage error for anything else points `vocabulary`'s caller to a factory for objects.
    """
    try:
        return ast.literal_eval(text)
    except _NOT_A_LITERAL:
        if re.fullmatch(r"[A-Za-z_][\w.\-]*", text):
            return text
        raise UsageError(
            f"cannot read {text!r} as a Python literal; write numbers, strings, tuples, "
            f"lists or dicts as in Python (quote strings that contain spaces or symbols); an "
            f"object such as a config dataclass or NamedTuple comes from an "
            f"{vocabulary.factory()} that returns it (then, in a diff, "
            f"`{vocabulary.vs('NAME.FIELD', 'VALUE')}` changes a field)"
        ) from None


def parse_traced_value(
    name: str, text: str, vocabulary: Vocabulary, *, side_b: bool = False
) -> Any:
    """A traced argument: an array spec, a Python literal, or a literal pytree whose leaves are specs.

    Args:
        name: the parameter (or `NAME.FIELD` path) the text is for.
        text: what the caller wrote.
        vocabulary: the caller's words for the usage errors.
        side_b: the text is a diff's side-B value (`--vs`), and its errors say so.

    Returns:
        An `ArraySpec`, a literal, or a pytree of them.
    """
    spec = parse_array_spec(text)
    if spec is not None:
        return spec
    assigned = vocabulary.vs if side_b else vocabulary.traced
    try:
        value = ast.literal_eval(text)
    except _NOT_A_LITERAL:
        raise UsageError(
            f"cannot read {assigned(name, _shortened(text))}: expected an array spec such as "
            f"f32[8,128] or i32[], a number, or a literal dict/list/tuple of specs such as "
            f'{{"w": "f32[3,4]", "b": "f32[4]"}}'
        ) from None
    assignment = assigned(name, "...")
    try:
        return _specs_in_tree(value, assignment, vocabulary.static(name, "..."))
    except RecursionError:
        raise UsageError(f"{assignment}: the value is nested too deeply to read") from None


def _shortened(text: str, limit: int = 80) -> str:
    """The user's text in a message, cut short: a message quotes, it does not echo megabytes."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _specs_in_tree(value: Any, assignment: str, as_static: str) -> Any:
    """Replaces string leaves of a literal pytree by the array specs they spell."""
    if isinstance(value, str):
        spec = parse_array_spec(value)
        if spec is None:
            raise UsageError(
                f"{assignment}: the leaf {value!r} is not an array spec (such as f32[3,4]); "
                f"strings cannot be traced by jax.jit, use {as_static} for them"
            )
        return spec
    if isinstance(value, dict):
        return {k: _specs_in_tree(v, assignment, as_static) for k, v in value.items()}
    if isinstance(value, list) and is_number_array(value):
        _check_rectangular(value, assignment)
        return value
    if isinstance(value, list):
        return [_specs_in_tree(v, assignment, as_static) for v in value]
    if isinstance(value, tuple):
        return tuple(_specs_in_tree(v, assignment, as_static) for v in value)
    return value


def is_number_array(value: Any) -> bool:
    """True for a non-empty list of numbers or of such lists (`[[1, 2], [3, 4]]`): it becomes an
    array, as `jnp.asarray` makes it; a list holding specs or dicts stays a list (a pytree)."""
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, list) and bool(value) and all(map(is_number_array, value))


def _check_rectangular(value: list[Any], assignment: str) -> None:
    """A list that becomes an array needs rows of one length at every depth."""
    if _shape_of(value) is None:
        raise UsageError(
            f"{assignment}: the nested list is ragged (its rows differ in length or depth), "
            f"so it is no array; give rows of equal length, or a tuple of separate arrays"
        )


def _shape_of(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return ()
    shapes = {_shape_of(v) for v in value}
    inner = shapes.pop() if len(shapes) == 1 else None
    return None if inner is None else (len(value), *inner)


def to_abstract(value: Any) -> Any:
    """Turns parsed specs into what `jax.jit(...).trace` accepts, leaving other leaves as they are.

    A list of numbers becomes an array (as `jnp.asarray` would make it); a Python number stays
    a Python number, which JAX traces as a weak-typed scalar.
    """
    import jax
    import numpy as np

    if isinstance(value, ArraySpec) and value.dtype in KEY_IMPLS:
        impl = KEY_IMPLS[value.dtype]
        key = jax.eval_shape(lambda: jax.random.key(0, impl=impl))
        return jax.ShapeDtypeStruct(value.shape, key.dtype)
    if isinstance(value, ArraySpec):
        return jax.ShapeDtypeStruct(
            value.shape,
            np.dtype(value.dtype),
            weak_type=value.weak_type,
            sharding=None if value.sharding is None else named_sharding(value.sharding),
        )
    if isinstance(value, dict):
        return {k: to_abstract(v) for k, v in value.items()}
    if isinstance(value, list) and is_number_array(value):
        array = jax.numpy.asarray(value)
        return jax.ShapeDtypeStruct(array.shape, array.dtype)
    if isinstance(value, list):
        return [to_abstract(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_abstract(v) for v in value)
    return value


def named_sharding(placed: ShardingSpec) -> Any:
    """The `NamedSharding` a spec's `@P(...)` spells, on a mesh over the first devices: the
    written sizes, the one unsized axis taking the devices left."""
    import jax
    import numpy as np

    devices = jax.devices()
    known = 1
    for _, size in placed.mesh:
        known *= size or 1
    rest = len(devices) // known if known and len(devices) % known == 0 else 0
    sizes = tuple(rest if size is None else size for _, size in placed.mesh)
    count = int(np.prod(sizes))
    if count == 0 or count > len(devices):
        raise UsageError(
            f"the mesh {str(placed).rpartition('@')[2]} does not fit the "
            f"{len(devices)} devices JAX has (with --xla_force_host_platform_device_count=N in "
            f"XLA_FLAGS, the CPU has N)"
        )
    grid = np.array(devices[:count]).reshape(sizes)
    mesh = jax.sharding.Mesh(grid, tuple(name for name, _ in placed.mesh))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*placed.spec))


def abstract_spec_strings(value: Any) -> Any:
    """Spec strings ("f32[3]") in Python API values become abstract arrays, also inside dicts,
    lists and tuples; other values, and a NamedTuple (the user's own class), stay as they are."""
    import jax

    if isinstance(value, str):
        spec = parse_array_spec(value)
        return to_abstract(spec) if spec else value
    if isinstance(value, (dict, list, tuple)) and not hasattr(value, "_fields"):
        return jax.tree_util.tree_map(abstract_spec_strings, value)
    return value
