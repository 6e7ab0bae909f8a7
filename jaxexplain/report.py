"""The report data model: frozen dataclasses that serialize to versioned JSON and load back.

Renderers and diffing see only these objects, never live JAX values, so a report saved as
JSON can be re-rendered or diffed later. Nothing here imports JAX.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from jaxexplain.display import Displayed

TRACE_SCHEMA = "jaxexplain.trace/1"
DIFF_SCHEMA = "jaxexplain.diff/1"
WATCH_SCHEMA = "jaxexplain.watch/1"

Role = Literal["static", "traced"]
# "partial": bound by the `functools.partial` that the target is, over a jitted function.
Source = Literal["cli", "decorator", "default", "factory", "api", "partial", "program"]
Via = Literal["static", "shape", "dtype", "ndim", "global", "constant", "value"]
# Decisions whose outcomes count the passes through a loop body; a `while` records its tests.
LOOP_KINDS = ("for", "comprehension")


@dataclass(frozen=True)
class FunctionInfo:
    """Where the traced function is defined."""

    name: str
    file: str
    line: int
    qualname: str = ""


@dataclass(frozen=True)
class Argument:
    """One parameter of the traced function and how it entered the trace.

    `aval` is a string such as "f32[8,128]" for an array, or, for a pytree, the same
    structure (dicts and lists) with such a string at every leaf.
    """

    name: str
    role: Role
    source: Source
    value: str | None = None
    aval: Any = None
    kind: str = "positional_or_keyword"
    # A traced pytree's class as the user knows it (`Batch (NamedTuple)`, `MLP`); None for a
    # single array: `aval` alone, made of dicts and lists, cannot say which class it was.
    pytree: str | None = None


@dataclass(frozen=True)
class IdentityPart:
    """A part of a static value that `==` compares by identity (a function, a partial, an
    object without `__eq__`): another object there, however alike, is another cache entry.

    `path` starts with the parameter name (`tx.init`); `object_id` is the object's address in
    the traced process, which is what JAX's `==` compares."""

    path: str
    what: str
    object_id: str


@dataclass(frozen=True)
class StaticKey:
    """A static argument as JAX's cache sees it: compared by type and `==`, found by hash.

    `compared_by` is "identity" where some part of the value (`identity_parts`) compares by
    identity, so that an equal-looking rebuilt value is another cache entry; `warnings` say
    when that, or a slow hash, is likely to cost compilations. `value` is bounded for reading;
    `value_digest` hashes the whole of it, so that values differing past the shown part differ.
    """

    name: str
    value: str
    type: str
    hash: int | None
    compared_by: Literal["value", "identity"] = "value"
    identity_parts: tuple[IdentityPart, ...] = ()
    hash_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    value_digest: str = ""


@dataclass(frozen=True)
class MeshAxis:
    """One axis of a device mesh: its name and how many devices lie along it."""

    name: str
    size: int


@dataclass(frozen=True)
class Placement:
    """A sharding split into the parts JAX's cache compares, so that a change names its part.

    `kind` is the sharding's class (`NamedSharding`, `SingleDeviceSharding`, ...); `spec` the
    PartitionSpec as JAX prints it (`P('data', None)`), None where the sharding has none;
    `mesh` the mesh axes in order; `axis_types` the mesh's axis types (`Explicit`, `Auto`);
    `memory_kind` where the array lives (`device`, `pinned_host`); `devices` the device ids in
    assignment order; `text` the whole sharding as JAX prints it.
    """

    kind: str
    text: str
    spec: str | None = None
    mesh: tuple[MeshAxis, ...] = ()
    axis_types: str = ""
    memory_kind: str | None = None
    devices: tuple[int, ...] = ()


@dataclass(frozen=True)
class TracedLeaf:
    """One array leaf of the traced arguments as JAX's cache sees it.

    `on_device` is False for a host value (a Python scalar or a NumPy array), which JAX's jit
    cache keys apart from a `jax.Array` of the same shape and dtype: `step(x, 0)` then
    `step(x, jnp.asarray(1))` makes a second cache entry, though the trace is the same.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    weak_type: bool
    sharding: str | None = None
    committed: bool = False
    on_device: bool = True
    placement: Placement | None = None


@dataclass(frozen=True)
class CacheKey:
    """The components of JAX's jit cache key for one call, and one digest over all of them."""

    digest: str
    function: str
    static: tuple[StaticKey, ...]
    traced: tuple[TracedLeaf, ...]
    treedef: str
    context: dict[str, str]
    # The jit wrapper's placement options by name: "in_shardings[0]", "out_shardings",
    # "donated" (the donated parameters); each a sharding in brief or the names as text.
    jit_placement: dict[str, str]


@dataclass(frozen=True)
class KeyChange:
    """One cache-key component that differs between two calls, with both values.

    `component` is one of "function", "static", "static_type", "shape", "dtype", "weak_type",
    "treedef", "context", "sharding", "mesh", "memory_kind", "device", "in_shardings",
    "out_shardings", "donation"; `path` starts with the parameter name
    (`params['w']`), or names the context option.
    """

    component: str
    path: str
    a: str
    b: str


@dataclass(frozen=True)
class Dependency:
    """Something a decision or a failing value depended on, and through which aspect."""

    name: str
    via: str


@dataclass(frozen=True)
class Decision:
    """One Python control-flow construct that ran while tracing, with every outcome in order.

    `end_line` is the construct's last line. `equations`, for a loop, counts the top-level
    jaxpr equations created while it ran (its header and body, helpers they called included):
    what unrolling it put into the jaxpr; None for other constructs or where not counted.
    """

    file: str
    line: int
    kind: Literal["if", "ifexp", "while", "for", "comprehension", "match", "assert"]
    source: str
    outcomes: tuple[str | int, ...]
    depends_on: tuple[Dependency, ...] = ()
    function: str = ""
    column: int = 0
    end_line: int = 0
    equations: int | None = None


@dataclass(frozen=True)
class LibraryDecision:
    """A test that an installed library ran while tracing, on a value made from the target's
    static argument `static` (flax's `(self.rate == 0.0) or deterministic` on the user's
    `train`): flipping that static can send it the other way and change the jaxpr.

    `file` is relative to the site-packages it is installed in (`flax/linen/stochastic.py`);
    `outcomes` are the distinct outcomes ("true"/"false") in the order first seen, and `count`
    how many times the test ran (once per layer that reached it).
    """

    static: str
    file: str
    line: int
    kind: Literal["if", "ifexp", "while"]
    source: str
    outcomes: tuple[str | int, ...]
    count: int
    function: str = ""
    column: int = 0


@dataclass(frozen=True)
class SourceLine:
    """One line of an annotated source listing.

    `equations` counts the equations of the jaxpr text whose source is this line, inside
    scan/while/cond/jit bodies too, so that the listings' counts add up to the jaxpr's
    `equations_total`; a jaxpr that JAX prints once and calls several times counts once, at the
    first line that calls it. An equation a library made inside a call on this line counts here,
    the line that made the call, and so does one that JAX recorded without any user frame (the
    body of `jax.random`'s jitted helper, of a library's `while_loop`): its source is the line
    whose equation calls its jaxpr. `libraries` says how many of them each library made
    (`{"optax": 24}`).
    """

    number: int
    text: str
    ran: bool
    equations: int = 0
    libraries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceListing:
    """A function's source as it ran during the trace, for the annotated source view."""

    file: str
    function: str
    lines: tuple[SourceLine, ...]


@dataclass(frozen=True)
class JaxprInfo:
    """The traced jaxpr: its text, counts, and the user source line behind each text line.

    `line_sources[i]` is "file:line" for text line i: the innermost line of the user's code
    that made its equation, above any library call (None where JAX recorded no frame);
    `equation_sources[k]` is the same for top-level equation k. `line_libraries[i]` is the
    "file:line" of the library frame that made it, where an installed library did (None else).
    """

    text: str
    equations: int
    primitives: dict[str, int]
    equations_total: int = 0
    line_sources: tuple[str | None, ...] = ()
    equation_sources: tuple[str | None, ...] = ()
    line_libraries: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class MemoryInfo:
    """XLA's memory analysis of the compiled executable, in bytes."""

    argument_bytes: int | None
    output_bytes: int | None
    temp_bytes: int | None
    generated_code_bytes: int | None
    alias_bytes: int | None = None


@dataclass(frozen=True)
class CompileInfo:
    """What XLA made of the lowered function."""

    lower_seconds: float
    compile_seconds: float
    backend: str
    flops: float | None
    transcendentals: float | None
    bytes_accessed: float | None
    memory: MemoryInfo | None
    devices: tuple[str, ...] = ()
    stablehlo: str | None = None
    hlo: str | None = None
    # The SPMD program's communication, from the optimized HLO (programs over several devices).
    collectives: tuple[Collective, ...] = ()
    collective_lines: tuple[CollectiveLine, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """A fix for a failed trace; `verified` only after jaxexplain re-traced with it applied.

    `checks` are the checks it passed: "traced" (re-traced with it applied), "one_entry" (for
    make_traced: with the value traced, JAX's cache held one compiled entry after calls with
    both values, so one program serves every value), "values" (the same results as the user's
    original code on random inputs), "gradients" (the same gradients there too).
    """

    kind: Literal["make_static", "hashable", "make_traced", "rewrite", "advice"]
    params: tuple[str, ...]
    text: str
    code: str | None = None
    cost: str | None = None
    verified: bool = False
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorInfo:
    """Why tracing failed, at the user's own line, with the arguments the value came from."""

    type: str
    message: str
    file: str | None
    line: int | None
    source: str | None
    depends_on: tuple[Dependency, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    construct: str | None = None
    explanation: str = ""
    column: int | None = None
    end_column: int | None = None
    created_at: str | None = None
    # Who raised it: "jax" (JAX's own error), "user" (the user's code, at file:line), or the
    # top-level package of another library ("numpy"); only JAX's errors are shown as JAX's.
    raised_by: str = "jax"


@dataclass(frozen=True)
class PersistentKey:
    """The call's key in JAX's persistent compilation cache and its parts (see
    `PersistentCache`); `would_hit` says whether the cache directory in effect holds it (None
    where no directory is in effect)."""

    key: str
    parts: dict[str, str]
    would_hit: bool | None = None
    cache_dir: str | None = None


@dataclass(frozen=True, repr=False)
class TraceReport(Displayed):
    """Everything jaxexplain learned about one call signature of one function."""

    target: str
    function: FunctionInfo
    arguments: tuple[Argument, ...]
    cache_key: CacheKey | None = None
    decisions: tuple[Decision, ...] = ()
    sources: tuple[SourceListing, ...] = ()
    jaxpr: JaxprInfo | None = None
    compile: CompileInfo | None = None
    error: ErrorInfo | None = None
    trace_seconds: float | None = None
    jax_version: str = ""
    notes: tuple[str, ...] = ()
    # Why no decisions could be recorded (another tool took Python's tracing hook), or None:
    # where set, the empty `decisions` does not mean that the trace decided nothing.
    decisions_unavailable: str | None = None
    # Tests inside installed libraries on values made from the target's statics.
    library_decisions: tuple[LibraryDecision, ...] = ()
    persistent: PersistentKey | None = None
    schema: str = TRACE_SCHEMA

    @property
    def ok(self) -> bool:
        """True when the function traced (and compiled, if asked)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a "jaxexplain.trace/1" JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceReport:
        """Loads a report saved by `to_dict`/`to_json`."""
        _check_schema(data, TRACE_SCHEMA)
        return from_dict(cls, data)


def to_dict(obj: Any) -> Any:
    """Converts a report object into plain JSON values, `schema` first where there is one."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if "schema" in out:
            out = {"schema": out.pop("schema"), **out}
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: Any, data: Any) -> Any:
    """Rebuilds a report object of type `cls` from plain JSON values."""
    return _build(cls, data)


def _check_schema(data: dict[str, Any], expected: str) -> None:
    found = data.get("schema")
    if found != expected:
        raise ValueError(f"expected a {expected!r} document, found schema {found!r}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(tp: Any, data: Any) -> Any:
    """Builds a value of type hint `tp` from JSON data, following the dataclass annotations."""
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)  # type: ignore[arg-type]
        kwargs = {
            f.name: _build(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return typing.cast(Any, tp)(**kwargs)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        structured = [a for a in options if dataclasses.is_dataclass(a)]
        return _build(structured[0], data) if structured and isinstance(data, dict) else data
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_build(item, v) for v in data)
    if origin is dict:
        value_type = typing.get_args(tp)[1]
        return {k: _build(value_type, v) for k, v in data.items()}
    return data


__all__ = [
    "DIFF_SCHEMA",
    "TRACE_SCHEMA",
    "WATCH_SCHEMA",
    "Argument",
    "CacheKey",
    "CompileInfo",
    "Decision",
    "Dependency",
    "ErrorInfo",
    "FunctionInfo",
    "JaxprInfo",
    "KeyChange",
    "LibraryDecision",
    "MemoryInfo",
    "PersistentKey",
    "SourceLine",
    "SourceListing",
    "StaticKey",
    "Suggestion",
    "TraceReport",
    "TracedLeaf",
]


@dataclass(frozen=True)
class WatchReason:
    """One cache-key component of a recompiled call that differs from an earlier entry.

    `entry` is the compile number (1 = first) of the earlier entry of the same function that
    this difference is against; a recompilation lists every earlier entry's differences.
    """

    component: str
    path: str
    before: str
    after: str
    entry: int = 0


@dataclass(frozen=True)
class PersistentDiffer:
    """One part of JAX's disk-cache key that differs from the nearest earlier record of the same
    function: `part` as `jax/_src/cache_key.py` names it, `a` (earlier) and `b` (this compile) in
    readable form (the XLA flags, the versions; for "computation" the StableHLO lines that
    changed, with the user's line where the location says)."""

    part: str
    a: str
    b: str


@dataclass(frozen=True)
class NotWritten:
    """Why a compiled executable was not written to the disk cache: `why` is "compile_time",
    "entry_size", "host_callbacks", "process", "no_cache", "unreadable" (its entry exists and
    could not be read) or "error"; `setting` names the JAX
    option that decided it ("jax_persistent_cache_min_compile_time_secs"), `value` its value
    and `measured` what this compile measured (seconds, bytes), as text."""

    why: str
    text: str
    setting: str = ""
    value: str = ""
    measured: str = ""


@dataclass(frozen=True)
class PersistentCache:
    """What JAX's persistent compilation cache (`jax_compilation_cache_dir`) did for one backend
    compile: "hit" (read from disk; `seconds_saved`), "miss" (compiled, and written unless
    `not_written` says why), or "off" (no cache directory in effect). `key` is JAX's disk key
    ("jit_f-<hex>"), `parts` its digest per part; for a miss, `differs` is against `against`, the
    nearest earlier record of the same function (empty with `note` "no earlier record")."""

    status: Literal["hit", "miss", "not_written", "off"]
    key: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    differs: tuple[PersistentDiffer, ...] = ()
    against: str = ""
    not_written: NotWritten | None = None
    seconds_saved: float | None = None
    note: str = ""


@dataclass(frozen=True)
class LayerCount:
    """Calls of one function (at one call site) that a cache layer served, and their seconds.

    `calls` is None where the installed JAX gives no count for the layer (`note` says so):
    jaxexplain never infers it."""

    calls: int | None
    seconds: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class CallSiteLayers:
    """The cache layers that served one function's calls from one call site (`file:line`)."""

    call_site: str
    layers: dict[str, LayerCount] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportCheck:
    """Whether `jax.export` with a symbolic dimension works for the function; `blocker` is the
    first operation that prevents it (its source and JAX's message), `file` and `line` where the
    user's code made it."""

    works: bool
    blocker: str = ""
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Buckets:
    """Shape buckets for one varying dimension: observed sizes (size -> calls), recommended edges,
    and the compiles and compile seconds now and with the buckets, the padding's extra flops."""

    path: str
    sizes: dict[str, int]
    edges: tuple[int, ...]
    compiles_now: int
    compiles_with: int
    compile_seconds_now: float
    compile_seconds_with: float
    padding_flops_ratio: float
    export: ExportCheck | None = None
    # Other leaves whose axis took the same size in every compile: padded with `path`.
    also: tuple[str, ...] = ()
    # Which calls `sizes` counts: "python_path", the calls that reached JAX's Python dispatch
    # (the compiling first call of each size); JAX's C++ fast path serves the rest unseen.
    calls_counted: str = "python_path"


@dataclass(frozen=True)
class Recommendation:
    """A change to the program that ends compilations `watch` measured, checked before said.

    `kind` "buckets" pads a varying dimension to a few sizes; "make_traced" passes a static (or a
    closed-over number) that only changes constants as a traced argument; "build_once" builds an
    identity-compared static once; "jit_once" jits a function once instead of per step. `checks`
    say what was verified ("compiled_at_edges", "one_entry", "values")."""

    function: str
    kind: Literal["buckets", "make_traced", "build_once", "jit_once"]
    text: str
    verified: bool = False
    checks: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    buckets: Buckets | None = None


@dataclass(frozen=True)
class WatchEvent:
    """One jit compilation seen while a program ran.

    `kind` is "jit" for a new entry of the function's own jit cache, "transformed" for a
    compilation of the function under `vmap`/`grad` applied outside any jit. `cache_size` is
    the number of entries of that function object's jit cache after this compilation.
    `compiled` is False for a new entry that JAX served without lowering or compiling (its
    trace or its executable reused: a Python int that became an int32 array traces the same).
    """

    function: str
    file: str
    line: int
    call_site: str
    seconds: float
    cache_size: int
    reasons: tuple[WatchReason, ...] = ()
    index: int = 0
    compile_number: int = 0
    kind: str = "jit"
    trace_seconds: float = 0.0
    lower_seconds: float = 0.0
    compile_seconds: float = 0.0
    call_source: str = ""
    time: float = 0.0
    persistent_cache_hit: bool = False
    key: CacheKey | None = None
    compiled: bool = True
    persistent: PersistentCache | None = None


@dataclass(frozen=True)
class WatchFunction:
    """Per-function totals: compilations, distinct reasons (component and path), seconds;
    `layers` are the cache layers that served its calls over all call sites, `sites` the same
    per call site."""

    function: str
    compiles: int
    seconds: float
    file: str = ""
    line: int = 0
    distinct_reasons: int = 0
    call_sites: tuple[str, ...] = ()
    layers: dict[str, LayerCount] = field(default_factory=dict)
    sites: tuple[CallSiteLayers, ...] = ()


@dataclass(frozen=True)
class EagerCompiles:
    """Small compilations of one primitive run eagerly (outside jit), counted, not listed."""

    primitive: str
    compiles: int
    seconds: float


@dataclass(frozen=True)
class WatchWarning:
    """A recompilation pattern known to be a mistake, in plain words, with the fix."""

    kind: str
    function: str
    path: str
    message: str


@dataclass(frozen=True)
class WatchExplained:
    """The full reports of one real compilation under `watch --explain NAME`.

    `trace` is built from the real call (its static values, closure and abstract arguments, or
    its failure with the fixes verified on those arguments); for a recompilation, `diff` is
    against the nearest earlier compilation of the same function (`against`, an event index:
    the earlier compile whose cache key differs in the fewest components), and `note` says when
    that one is another function object of the same code (a closure made again).
    """

    function: str
    compile: int
    trace: TraceReport
    diff: DiffReport | None = None
    against: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ProcessInfo:
    """Which process of a `jax.distributed` run a watch report comes from: `index` is JAX's
    process index, `count` the number of processes."""

    index: int
    count: int


@dataclass(frozen=True, repr=False)
class WatchReport(Displayed):
    """Every jit compilation of a program run, with exact reasons, totals and warnings."""

    events: tuple[WatchEvent, ...]
    functions: tuple[WatchFunction, ...]
    eager: tuple[EagerCompiles, ...] = ()
    warnings: tuple[WatchWarning, ...] = ()
    program: str = ""
    exit_code: int | None = None
    error: str | None = None
    wall_seconds: float = 0.0
    other_compiles: int = 0
    other_seconds: float = 0.0
    internal_errors: tuple[str, ...] = ()
    jax_version: str = ""
    explained: tuple[WatchExplained, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    process: ProcessInfo | None = None
    schema: str = WATCH_SCHEMA

    def compiles_of(self, function: str) -> tuple[WatchEvent, ...]:
        """The events of one function, by qualified name or bare name."""
        return tuple(
            e for e in self.events if e.function == function or e.function.endswith("." + function)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a "jaxexplain.watch/1" JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatchReport:
        """Loads a report saved by `to_dict`/`to_json`."""
        _check_schema(data, WATCH_SCHEMA)
        return from_dict(cls, data)


__all__ += [
    "Buckets",
    "EagerCompiles",
    "ExportCheck",
    "LayerCount",
    "NotWritten",
    "PersistentCache",
    "PersistentDiffer",
    "ProcessInfo",
    "Recommendation",
    "WatchEvent",
    "WatchExplained",
    "WatchFunction",
    "WatchReason",
    "WatchReport",
    "WatchWarning",
]


@dataclass(frozen=True)
class DecisionChange:
    """A baked-in decision whose outcomes differ between the two sides of a diff.

    `change` is "flipped" (a branch went the other way), "iterations" (a loop ran another
    number of times), "only_a" or "only_b" (the code ran on one side only). `a` and `b` are
    the outcomes in order, as in `Decision.outcomes`; empty where that side never ran it.
    """

    file: str
    line: int
    source: str
    a: tuple[str | int, ...]
    b: tuple[str | int, ...]
    kind: str = ""
    change: str = "flipped"
    column: int = 0


@dataclass(frozen=True)
class LibraryDecisionChange:
    """A library test on a static (see `LibraryDecision`) whose outcomes differ between the
    two sides of a diff: `a` and `b` are the distinct outcomes, empty where that side never
    ran it."""

    static: str
    file: str
    line: int
    source: str
    a: tuple[str | int, ...]
    b: tuple[str | int, ...]
    kind: str = "if"


JaxprRowKind = Literal["context", "removed", "added", "changed"]


@dataclass(frozen=True)
class JaxprRow:
    """One line of a jaxpr diff hunk, side by side: an unchanged line on both sides, a line of a
    removed or an added item, or a line of a changed item on side A paired with its line on
    side B (where one side prints the changed item on more lines, the surplus is removed or
    added).

    `a` and `b` are the line's text on each side, variable names canonical (None where that
    side has no line); `a_line` and `b_line` are 1-based line numbers, counted from the hunk's
    start as its unified diff counts them (None where that side has no line)."""

    kind: JaxprRowKind
    a: str | None = None
    b: str | None = None
    a_line: int | None = None
    b_line: int | None = None


@dataclass(frozen=True)
class JaxprHunk:
    """Where one hunk of the jaxpr diff sits: 1-based text lines on each side, its user source
    line, the library frame that made its first change inside that line's call, and its lines
    side by side.

    `source` is "file:line" of the user's line, the file as Python names it (an absolute path
    for a file on disk); `source_text` is that line's text, kept so that a saved report renders
    without the source files; `rows` are its lines side by side, a changed item's lines beside
    those of the item the diff paired it with."""

    a_start: int
    a_lines: int
    b_start: int
    b_lines: int
    source: str | None = None
    source_text: str | None = None
    library: str | None = None
    rows: tuple[JaxprRow, ...] = ()


@dataclass(frozen=True)
class JaxprDiff:
    """The jaxpr difference with variable names made canonical: real changes only.

    `unified` is a unified diff over the jaxpr text (hunk headers name the user source line,
    its path relative to the working directory of the diff); `hunks` hold the same facts
    structured, each hunk's lines side by side in its `rows`. Counts are of top-level
    equations, as `jax.make_jaxpr` and the trace report count them: an equation whose literal,
    parameter, type, operands or nested jaxpr changed is `changed` once (not delete + insert). `sharing` says where one side prints a jaxpr once as `let NAME = ...`
    and the other inline: printing only, left out of the hunks and the counts.
    `approximate` counts regions too scattered to align exactly within the time budget: they
    are shown as removed and added, which is true but not minimal.
    """

    equations_a: int
    equations_b: int
    added: int
    removed: int
    changed: int
    unified: str
    hunks: tuple[JaxprHunk, ...] = ()
    primitive_deltas: dict[str, int] = dataclasses.field(default_factory=dict)
    approximate: int = 0
    sharing: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureChange:
    """One compile figure (flops, bytes, memory, seconds) on both sides."""

    name: str
    a: float | None
    b: float | None
    unit: str = ""


@dataclass(frozen=True)
class Verification:
    """The verdict checked against JAX: cache sizes after calling side A, then side B.

    `checked` is False when verification was skipped (`note` says why). `jax_recompiled` is
    what JAX did; `agrees` whether that matches the prediction from the cache keys.
    """

    checked: bool
    note: str = ""
    cache_size_a: int | None = None
    cache_size_b: int | None = None
    jax_recompiled: bool | None = None
    agrees: bool | None = None
    input_bytes: int | None = None


@dataclass(frozen=True, repr=False)
class DiffReport(Displayed):
    """Why JAX recompiles between two call signatures of one function, and what changed.

    `recompiles` is JAX's own behaviour when verification ran, else the prediction from the
    cache keys (`predicted`); `verified` is True only when JAX was called and agreed. Both are
    None when a side failed to trace (`a.error` / `b.error` say why).
    """

    target: str
    a: TraceReport
    b: TraceReport
    recompiles: bool | None
    cache_key_changes: tuple[KeyChange, ...] = ()
    decision_changes: tuple[DecisionChange, ...] = ()
    jaxpr_diff: JaxprDiff | None = None
    # Tests inside installed libraries, on a static, that went another way on side B.
    library_decision_changes: tuple[LibraryDecisionChange, ...] = ()
    verified: bool = False
    predicted: bool | None = None
    verification: Verification | None = None
    compile_changes: tuple[FigureChange, ...] = ()
    vs: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Changes that end the recompilation, verified ("make_traced": the static only changed
    # constants, and one compiled entry served both values with the same results).
    suggestions: tuple[Suggestion, ...] = ()
    schema: str = DIFF_SCHEMA

    @property
    def ok(self) -> bool:
        """True when both sides traced (and compiled, if asked)."""
        return self.a.ok and self.b.ok

    @property
    def disagrees(self) -> bool:
        """True when JAX did not do what the cache keys predicted: a jaxexplain bug to report."""
        return self.verification is not None and self.verification.agrees is False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a "jaxexplain.diff/1" JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiffReport:
        """Loads a report saved by `to_dict`/`to_json`."""
        _check_schema(data, DIFF_SCHEMA)
        return from_dict(cls, data)


__all__ += [
    "DecisionChange",
    "DiffReport",
    "FigureChange",
    "JaxprDiff",
    "JaxprHunk",
    "JaxprRow",
    "JaxprRowKind",
    "LibraryDecisionChange",
    "Verification",
]


@dataclass(frozen=True)
class ErrorReport:
    """A run that ended before its report: bad usage or input (exit 2), a bug in jaxexplain
    (exit 3), an interrupt (exit 130). A target that failed to trace is a `TraceReport` with
    `error` set instead: that report explains the failure.

    Its document carries the schema of the command that ran ("jaxexplain.trace/1" or
    "jaxexplain.diff/1"), so that `--format json` always writes that command's document.
    """

    target: str
    error: ErrorInfo
    exit_code: int
    schema: str = TRACE_SCHEMA

    @property
    def ok(self) -> bool:
        """Always False: the run did not finish."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorReport:
        """Loads an error document of `trace` or `diff` saved by `to_dict`."""
        found = data.get("schema")
        if found not in (TRACE_SCHEMA, DIFF_SCHEMA):
            raise ValueError(
                f"expected a {TRACE_SCHEMA!r} or {DIFF_SCHEMA!r} document, found schema {found!r}"
            )
        return from_dict(cls, data)


__all__ += ["ErrorReport"]


SWEEP_SCHEMA = "jaxexplain.sweep/1"


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter and its values in order: Python literals for a static, spec
    strings (`f32[8,128]`) for a traced argument."""

    name: str
    values: tuple[Any, ...]
    role: Role = "static"


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: the swept values, the trace and compile figures there, and the
    decisions whose outcomes changed from the point before.

    `sizes` is each swept value as a number (a static number itself, a traced argument's
    varying dimension), what growth laws are fitted over; None where the value is no number.
    `error` explains a point that failed to trace or compile: its figures are then None.
    """

    values: dict[str, Any]
    sizes: dict[str, float | None] = field(default_factory=dict)
    equations: int | None = None
    equations_nested: int | None = None
    trace_seconds: float | None = None
    lower_seconds: float | None = None
    compile_seconds: float | None = None
    flops: float | None = None
    bytes_accessed: float | None = None
    memory: MemoryInfo | None = None
    decision_changes: tuple[DecisionChange, ...] = ()
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Law = Literal["constant", "linear", "nlogn", "quadratic", "exponential", "other"]


@dataclass(frozen=True)
class Growth:
    """The law a figure grows by along one swept parameter (`of`).

    `name` is "constant", "linear", "nlogn", "quadratic", "exponential" or "other";
    `exponent` the log-log slope through the upper half of the points; `coefficients` the
    fitted `(a, b)`: `a + b*g(n)` for the polynomial laws, `exp(a + b*n)` for exponential,
    `exp(a) * n**b` for other (the power law), `a` for constant. `residual` is the fit's RMS
    error relative to the largest value.
    """

    name: Law
    exponent: float
    of: str
    coefficients: tuple[float, float]
    residual: float


@dataclass(frozen=True)
class Prediction:
    """A figure extrapolated by its growth law to a value the user named (`--predict`)."""

    figure: str
    of: str
    at: float
    value: float
    law: str


@dataclass(frozen=True)
class BudgetExceeded:
    """The first point where a figure went over its `--budget`."""

    figure: str
    limit: float
    value: float
    values: dict[str, Any]


@dataclass(frozen=True)
class LoopGrowth:
    """A Python loop whose unrolling drives the equation count: it ran `iterations[i]` times at
    point i (None where the point failed), `per_value` times the swept value where that ratio
    holds at every point.

    `rewrite` is its structured form (`lax.fori_loop`), offered where `verified`: it traced at
    the first and last points, its equation count stayed `rewrite_equations` at both, and it
    returned the original's values on random inputs (`checks` lists what it passed).
    """

    file: str
    line: int
    source: str
    of: str
    iterations: tuple[int | None, ...]
    equations: int | None = None
    per_value: float | None = None
    rewrite: str | None = None
    rewrite_kind: str | None = None
    first_line: int | None = None
    last_line: int | None = None
    rewrite_equations: tuple[int, ...] = ()
    verified: bool = False
    checks: tuple[str, ...] = ()
    rejected: str = ""


@dataclass(frozen=True, repr=False)
class SweepReport(Displayed):
    """How the trace and compile cost of one function grow over the swept values.

    Each point is a fresh trace (and compile) after `jax.clear_caches()`, so its seconds are
    the real cost (`caches_cleared`). `growth` is keyed by figure; `suggestions` holds the
    make_traced fix (or the advice to keep the static) from adjacent points of a numeric static.
    """

    target: str
    function: FunctionInfo
    over: tuple[SweepAxis, ...]
    points: tuple[SweepPoint, ...]
    growth: dict[str, Growth] = field(default_factory=dict)
    predictions: tuple[Prediction, ...] = ()
    budgets: dict[str, float] = field(default_factory=dict)
    budget_exceeded: tuple[BudgetExceeded, ...] = ()
    loops: tuple[LoopGrowth, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    notes: tuple[str, ...] = ()
    compiled: bool = True
    caches_cleared: bool = True
    jax_version: str = ""
    # Ctrl-C ended the sweep: `points` are those explained before it.
    interrupted: bool = False
    # The exit status the signal that ended the sweep asks for: 130 (Ctrl-C), 143 (SIGTERM).
    interrupt_status: int = 0
    schema: str = SWEEP_SCHEMA

    @property
    def ok(self) -> bool:
        """True when every point traced (and compiled, if asked) within every budget."""
        return not (self.interrupted or self.budget_exceeded) and all(p.ok for p in self.points)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a "jaxexplain.sweep/1" JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepReport:
        """Loads a report saved by `to_dict`/`to_json`."""
        _check_schema(data, SWEEP_SCHEMA)
        return from_dict(cls, data)


__all__ += [
    "SWEEP_SCHEMA",
    "BudgetExceeded",
    "Growth",
    "LoopGrowth",
    "Prediction",
    "SweepAxis",
    "SweepPoint",
    "SweepReport",
]

WATCH_MERGE_SCHEMA = "jaxexplain.watch-merge/1"


@dataclass(frozen=True)
class MergedProcess:
    """One process's watch report in a merge: its process index (from the document, else its
    place on the command line), the file it came from, and how many jit compilations it saw."""

    process: int
    file: str
    compiles: int
    count: int | None = None
    program: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class MergedFunction:
    """One jitted function lined up across processes: its compilations in each (keyed by the
    process index as a string, as JSON keys are)."""

    function: str
    compiles: dict[str, int]


DivergenceKind = Literal["extra", "missing", "different"]


@dataclass(frozen=True)
class Divergence:
    """A compilation one process made and others did not make the same: in SPMD every process
    must run the same programs in the same order, so a collective in one that the others never
    run waits forever (a hang), or pairs with the wrong program.

    `kind`: "extra" (this process compiled `function` a `compile`-th time; `others` did not),
    "missing" (`others` compiled it a `compile`-th time; this process did not), "different"
    (this process's `compile`-th key differs from `others'`). `reasons` are the cache-key
    components that differ: for "extra", from this process's own earlier entries; for
    "different", from the others' key at the same place. `last` is True when it was this
    function's last compilation in this process (a smaller last batch, say)."""

    function: str
    process: int
    compile: int
    kind: DivergenceKind
    reasons: tuple[WatchReason, ...] = ()
    others: tuple[int, ...] = ()
    call_site: str = ""
    last: bool = False


@dataclass(frozen=True, repr=False)
class WatchMerge(Displayed):
    """The watch reports of the processes of one `jax.distributed` run, their compilations lined
    up per function, and every place where one process compiled what the others did not."""

    processes: tuple[MergedProcess, ...]
    functions: tuple[MergedFunction, ...] = ()
    divergences: tuple[Divergence, ...] = ()
    notes: tuple[str, ...] = ()
    schema: str = WATCH_MERGE_SCHEMA

    @property
    def ok(self) -> bool:
        """True when every process compiled the same programs in the same order."""
        return not self.divergences

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, schema first."""
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a "jaxexplain.watch-merge/1" JSON document."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatchMerge:
        """Loads a report saved by `to_dict`/`to_json`."""
        _check_schema(data, WATCH_MERGE_SCHEMA)
        return from_dict(cls, data)


__all__ += [
    "WATCH_MERGE_SCHEMA",
    "Divergence",
    "MergedFunction",
    "MergedProcess",
    "WatchMerge",
]


@dataclass(frozen=True)
class Collective:
    """One collective of a compiled SPMD program, as XLA's optimized HLO has it: `kind`
    ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute"), the HLO
    instruction `name`, `bytes` of its result per device, its `replica_groups` as XLA prints
    them, the jaxpr equation it came from (`op_name`, e.g. "jit(f)/reduce_sum") and the user's
    source line (`file`, `line`, `function`) from the instruction's metadata."""

    kind: str
    name: str
    bytes: int
    replica_groups: str
    op_name: str = ""
    file: str | None = None
    line: int | None = None
    function: str = ""


@dataclass(frozen=True)
class CollectiveLine:
    """The collectives one source line produced, summed: how many, their bytes, their kinds."""

    file: str | None
    line: int | None
    count: int
    bytes: int
    kinds: dict[str, int]


__all__ += ["Collective", "CollectiveLine", "MeshAxis", "Placement"]

# Everything that takes "a report" (the renderers, `str`) takes one of these.
Report = TraceReport | DiffReport | WatchReport | ErrorReport | SweepReport | WatchMerge

__all__ += ["Report"]
