"""Every sentence and label that more than one rendering shows: the text report, the HTML page,
watch's live lines and `assert_max_compiles`' message say a thing in the same words because
they take them from here. Facts come from `jaxexplain.views`; this module only words them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jaxexplain.report import (
    LOOP_KINDS,
    Argument,
    Buckets,
    BudgetExceeded,
    CacheKey,
    Collective,
    Decision,
    DecisionChange,
    DiffReport,
    Divergence,
    ErrorInfo,
    ExportCheck,
    FigureChange,
    FunctionInfo,
    Growth,
    JaxprInfo,
    LayerCount,
    LibraryDecision,
    LibraryDecisionChange,
    LoopGrowth,
    MeshAxis,
    Placement,
    Prediction,
    StaticKey,
    Suggestion,
    SweepReport,
    Verification,
    WatchEvent,
    WatchExplained,
    WatchReason,
    WatchReport,
)
from jaxexplain.userfiles import short_path
from jaxexplain.views import (
    DecidingStatic,
    EquationCounts,
    Figure,
    UnrolledLoop,
    WatchTotals,
    failed_sides,
    figure_delta,
    leaf_count,
    reasons_by_entry,
)

if TYPE_CHECKING:
    from jaxexplain.diffing.make_traced import StructureDifference
    from jaxexplain.inputs.caller import Vocabulary

_KEYWORDS = {"comprehension": "for"}
# An argument's pytree with more leaves than this is summarized; its leaves are listed apart.
MAX_LEAVES_SHOWN = 8
DECIDERS_SHOWN = 5
DECIDED_MOST = "static arguments that decided the most"
IDENTITY_HASH = "compared by identity: every new object recompiles"
LEAKED_AT = "leaked value created at"
FIXES_DETAIL = "verified ones were re-traced by jaxexplain"
VERIFIED = "verified"
NOT_VERIFIED = "not verified"
NEVER_RAN = "never ran"
SAME_UP_TO_NAMES = "identical up to variable names"
PREDICTED_ONLY = "predicted from the cache keys, not checked against JAX"
NO_KEY_WITHOUT_TRACE = "a side that does not trace has no cache key to compare"
DISAGREEMENT_MEANING = (
    "The verdict above is JAX's own; the reasons below are jaxexplain's and miss something. "
    "This is a jaxexplain bug: please report it with this report."
)
FIRST_COMPILATION = "first compilation"
TRANSFORMED_OUTSIDE_JIT = "under vmap/grad outside jit"
REAL_CALL_TRACE = "trace of the real call"
VIA_WORDS = {
    "value": "traced value",
    "static": "static value",
    "shape": "shape",
    "dtype": "dtype",
    "global": "global",
}
COMPONENT_NAMES = {
    "function": "the function itself",
    "static": "static value",
    "static_type": "static value's type",
    "shape": "shape",
    "dtype": "dtype",
    "weak_type": "weak type",
    "treedef": "pytree structure",
    "context": "JAX context",
    "sharding": "sharding",
    "device": "device",
}
CHANGE_NAMES = {
    "flipped": "branch flipped",
    "iterations": "loop count changed",
    "only_a": "ran on A only",
    "only_b": "ran on B only",
}


def capitalized(text: str) -> str:
    """A phrase that starts a line: its first letter upper case, the rest as it is."""
    return f"{text[:1].upper()}{text[1:]}"


def sentence(text: str) -> str:
    """A phrase as a sentence on its own: capitalized, ending with a period."""
    return capitalized(text) + ("" if text.endswith(".") else ".")


def plural(count: int, word: str, many: str = "") -> str:
    """`1 equation`, `2 equations` (`many` where the plural is not the word and an s)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


# ---------------------------------------------------------------- places and numbers


def location(file: str, line: int | None) -> str:
    """`model.py:12`, the file as short as it reads unambiguously from here."""
    return f"{short_path(file)}:{line}"


def source_location(source: str) -> str:
    """A "file:line" string of the model as `location` shows it."""
    path, _, line = source.rpartition(":")
    return f"{short_path(path)}:{line}"


def defined_at(fn: FunctionInfo) -> str:
    """`transformer defined at samples/transformer.py:40`."""
    return f"{fn.qualname or fn.name} defined at {location(fn.file, fn.line)}"


def seconds_text(value: float | None) -> str:
    """0.1234 -> "0.123 s"; None -> "n/a"."""
    return "n/a" if value is None else f"{value:.3f} s"


def human_number(value: float | None) -> str:
    """1234567 -> "1.23 M"; None -> "n/a"."""
    if value is None:
        return "n/a"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:g}"


def human_bytes(value: float | None) -> str:
    """1536 -> "1.5 KiB"; None -> "n/a"."""
    if value is None:
        return "n/a"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{int(value)} B"


def figure_text(value: float | None, unit: str) -> str:
    """A figure in its unit: bytes, seconds, or a count."""
    if unit == "bytes":
        return human_bytes(value)
    if unit == "s":
        return seconds_text(value)
    return human_number(value)


def figure_change_text(change: FigureChange) -> str:
    """`+3 (+50%)`, `-1.5 KiB (-20%)`, `=` when equal, "" where a side has no figure."""
    moved = figure_delta(change)
    if moved is None:
        return ""
    if moved.delta == 0:
        return "="
    text = ("+" if moved.delta > 0 else "-") + figure_text(abs(moved.delta), change.unit)
    return text + (f" ({moved.relative:+.0%})" if moved.relative is not None else "")


def equation_counts_text(counts: EquationCounts) -> tuple[str, str | None]:
    """`59 -> 41 equations` at the top level, and the printed counts `189 -> 125` where they
    differ (the diff's added, removed and changed are of those)."""
    a, b = counts.top
    printed = None if counts.printed is None else f"{counts.printed[0]:,} -> {counts.printed[1]:,}"
    return f"{a:,} -> {b:,} equations", printed


def approximate_text(regions: int) -> str:
    """The note on regions a diff could not align exactly in its time budget."""
    return (
        f"{regions} region(s) differ too much to align exactly in time; they are shown as "
        f"removed and added"
    )


# ---------------------------------------------------------------- arguments and the cache key


def shape_text(shape: Sequence[int]) -> str:
    """A shape as Python writes the tuple: `(8,)`, `(3, 4)`, `()`."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def static_hash_text(s: StaticKey) -> str:
    """The hash JAX looks a static value up by, and the identity-hash trap."""
    hashed = "unhashable" if s.hash is None else str(s.hash)
    return hashed + (f" ({IDENTITY_HASH})" if s.compared_by == "identity" else "")


def format_aval_tree(aval: Any, pytree: str | None = None) -> str:
    """A pytree of abstract values written compactly: `{'b': f32[4], 'w': f32[3,4]}`, led by
    its class where it is no plain container (`Batch (NamedTuple) {...}`); large trees are
    summarized (their leaves are listed in the cache key section)."""
    leaves = leaf_count(aval)
    kind = pytree or ("dict" if isinstance(aval, dict) else "list")
    if leaves > MAX_LEAVES_SHOWN:
        return f"pytree ({kind}) of {leaves} arrays, listed under Cache key"
    text = _aval_tree_text(aval)
    return text if kind in ("dict", "list", "tuple") else f"{kind} {text}"


def _aval_tree_text(aval: Any) -> str:
    if isinstance(aval, dict):
        return "{" + ", ".join(f"{k!r}: {_aval_tree_text(v)}" for k, v in aval.items()) + "}"
    if isinstance(aval, (list, tuple)):
        return "[" + ", ".join(_aval_tree_text(v) for v in aval) + "]"
    return str(aval)


def argument_text(arg: Argument | None) -> str:
    """`static 3`, `traced f32[8]`, or that the parameter was not passed."""
    if arg is None:
        return "not passed"
    if arg.role == "static":
        return f"static {arg.value}" + (" (default)" if arg.source == "default" else "")
    return f"traced {format_aval_tree(arg.aval)}"


def vs_text(vs: dict[str, str]) -> str:
    """`n=4, lr=0.1`: the assignments that made side B of a diff."""
    return ", ".join(f"{k}={v}" for k, v in vs.items())


# ---------------------------------------------------------------- decisions


def as_written(kind: str, source: str) -> str:
    """The decision as the user wrote it: `if n > 2`, `for _ in range(n)`, `... if c else ...`."""
    if kind == "ifexp":
        return f"... if {source} else ..."
    return f"{_KEYWORDS.get(kind, kind)} {source}"


def outcomes_text(kind: str, outcomes: Sequence[str | int]) -> str:
    """All outcomes in words: `3 iterations`, `case 1`, `true ×2, false`, or `did not run`."""
    if not outcomes:
        return "did not run"
    if kind in LOOP_KINDS:
        return f"{compress(outcomes)} iteration{'' if tuple(outcomes) == (1,) else 's'}"
    if kind == "match":
        return compress([f"case {o}" for o in outcomes])
    return compress(outcomes)


def decisions_detail(count: int) -> str:
    """`3 constructs decided while tracing`."""
    return f"{plural(count, 'construct')} decided while tracing"


def library_decision_text(d: LibraryDecision) -> str:
    """One line per library test on a static: `train: decided in flax/linen/stochastic.py:92
    by if (self.rate == 0.0) or deterministic → true (12 times, Dropout.__call__)`."""
    times = f"{d.count} time{'s' * (d.count != 1)}"
    where = f", {d.function}" if d.function else ""
    return (
        f"{d.static}: decided in {d.file}:{d.line} by {as_written(d.kind, d.source)}"
        f" → {outcomes_text(d.kind, d.outcomes)} ({times}{where})"
    )


def library_change_text(c: LibraryDecisionChange) -> str:
    """A library test on a static that went another way: `train: flax/linen/stochastic.py:92
    if (self.rate == 0.0) or deterministic: false -> true`."""
    a, b = outcomes_text(c.kind, c.a), outcomes_text(c.kind, c.b)
    return f"{c.static}: {c.file}:{c.line} {as_written(c.kind, c.source)}: {a} -> {b}"


def decision_change_name(change: DecisionChange) -> str:
    """`branch flipped`, `loop count changed`, `ran on B only`."""
    return CHANGE_NAMES.get(change.change, change.change)


def decision_outcome(d: Decision) -> str:
    """A decision's outcomes in words, with what a loop put into the jaxpr where counted
    (`48 iterations → 3,120 eq`, as the annotated source counts equations per line)."""
    text = outcomes_text(d.kind, d.outcomes)
    if d.equations is not None and d.outcomes:
        text += f" → {d.equations:,} eq"
    return text


def outcome_badge(d: Decision) -> str:
    """A short inline form: `if → true`, `for ×4 (unrolled)`, `match → case 1`."""
    if d.kind in LOOP_KINDS:
        counts = compress(d.outcomes)
        return f"{d.kind} ×{counts} (unrolled)" if len(d.outcomes) == 1 else f"{d.kind} ×{counts}"
    if d.kind == "match":
        return "match → " + compress([f"case {o}" for o in d.outcomes])
    return f"{d.kind} → {compress(d.outcomes)}"


def compress(outcomes: Sequence[object]) -> str:
    """Runs of equal outcomes, counted: `true, true, false` -> `true ×2, false`."""
    out: list[str] = []
    previous: object = object()
    count = 0
    for outcome in [*outcomes, object()]:
        if outcome == previous:
            count += 1
            continue
        if count:
            out.append(f"{previous}" + (f" ×{count}" if count > 1 else ""))
        previous, count = outcome, 1
    return ", ".join(out)


def dependencies_text(d: Decision) -> str:
    """`n (static), x (shape)`."""
    return ", ".join(f"{dep.name} ({dep.via})" for dep in d.depends_on)


def unrolled_text(loop: UnrolledLoop) -> str:
    """What unrolling a loop cost: the equations it put into the jaxpr where they were counted."""
    if loop.equations is None:
        return (
            f"ran {loop.passes} times while tracing: the JAX operations of its body, helpers "
            "included, are copied that many times into the jaxpr, and compile time grows with them"
        )
    return (
        f"ran {loop.passes} times while tracing and put {loop.equations:,} equations into the "
        f"jaxpr (about {loop.per_pass:,} per pass): compile time grows with them"
    )


def deciding_statics_text(statics: Sequence[DecidingStatic]) -> str:
    """`n (3), activation (1)`: the few statics that decided most, with their decisions."""
    return ", ".join(f"{s.name} ({s.decisions})" for s in statics[:DECIDERS_SHOWN])


def equations_text(equations: int, libraries: dict[str, int]) -> str:
    """A source line's equation count with the libraries that made them inside its calls:
    `24 eq (optax)` when optax made all of them, `27 eq (24 flax)` when the line made the rest
    itself, `3 eq` with no library; "" for none."""
    if not equations:
        return ""
    if list(libraries.values()) == [equations]:
        return f"{equations} eq ({next(iter(libraries))})"
    shares = ", ".join(f"{count} {name}" for name, count in libraries.items())
    return f"{equations} eq ({shares})" if shares else f"{equations} eq"


# ---------------------------------------------------------------- failures


def raised_by_text(error: ErrorInfo) -> str:
    """Who raised the error, to head its message: `JAX` for JAX's own errors only; `raised by
    your code at solvers.py:23: ValueError` for the user's; `raised by numpy: TypeError`."""
    if error.raised_by == "jax":
        return "JAX"
    if error.raised_by == "user" and error.file:
        return f"raised by your code at {location(error.file, error.line)}: {error.type}"
    who = "your code" if error.raised_by == "user" else error.raised_by
    return f"raised by {who}: {error.type}"


def via_text(via: str) -> str:
    """Through which aspect a failing value depended on an argument: `traced value`, `shape`."""
    return VIA_WORDS.get(via, via)


def error_dependencies_text(error: ErrorInfo) -> str:
    """`x (traced value), n (static value)`: what the failing value came from."""
    return ", ".join(f"{d.name} ({via_text(d.via)})" for d in error.depends_on)


def cost_text(s: Suggestion) -> str:
    """`cost: both sides are computed for every element, then one is selected`."""
    return f"cost: {s.cost}"


def checks_text(s: Suggestion) -> str:
    """`checks passed: traced, values, gradients`."""
    return f"checks passed: {', '.join(s.checks)}"


# ---------------------------------------------------------------- diff verdicts


def no_verdict_text(report: DiffReport) -> str:
    """Why a diff has no verdict: `no verdict: side A failed to trace`."""
    failed = failed_sides(report)
    why = (
        f"side {' and '.join(failed)} failed to trace"
        if failed
        else "the reports hold no cache keys"
    )
    return f"no verdict: {why}"


def verification_text(check: Verification) -> str:
    """`verified against JAX: called the jitted function on zeros: cache size 1 after A, 2
    after B`, or `not verified: ...` with the reason it was skipped."""
    if check.checked:
        return f"verified against JAX: {check.note}"
    return f"not verified: {check.note.removeprefix('not checked: ')}"


def disagreement_text(report: DiffReport) -> str:
    """What the cache keys predicted and what JAX did instead, with both cache sizes."""
    check = report.verification
    assert check is not None
    said = "a recompile" if report.predicted else "no recompile"
    did = "compiled again" if check.jax_recompiled else "reused its entry"
    return (
        f"the cache keys predicted {said}, but JAX {did} "
        f"(cache size {check.cache_size_a} after A, {check.cache_size_b} after B)."
    )


def component_name(component: str) -> str:
    """A cache-key component in words: `static` -> `static value`."""
    return COMPONENT_NAMES.get(component, component)


# ---------------------------------------------------------------- watch


def reason_text(reason: WatchReason) -> str:
    """One difference from an earlier entry in a few words: `static lr 0.1 -> 0.2`."""
    if reason.component == "function" and reason.path == "object":
        return "a new function object (its jit cache starts empty)"
    if reason.component == "evicted":
        return "no key component differs: " + reason.after
    where = f" {reason.path}" if reason.path else ""
    return f"{reason.component}{where} {reason.before} -> {reason.after}"


def reasons_text(reasons: Sequence[WatchReason]) -> str:
    """Several differences from one entry, `; `-separated."""
    return "; ".join(reason_text(r) for r in reasons)


def timing_text(event: WatchEvent) -> str:
    """`0.125 s (trace 0.020, lower 0.010, compile 0.095)`."""
    return (
        f"{event.seconds:.3f} s (trace {event.trace_seconds:.3f}, lower "
        f"{event.lower_seconds:.3f}, compile {event.compile_seconds:.3f})"
    )


def live_line(event: WatchEvent) -> str:
    """The line printed as a compilation happens."""
    head = (
        f"jaxexplain: {'compiled' if event.compiled else 'new cache entry of'} {event.function} "
        f"({location(event.file, event.line)}) "
        f"at {short_path(event.call_site)} in {event.seconds:.3f} s"
    )
    if event.kind == "transformed":
        return head + " (under vmap/grad outside jit)"
    head += f", cache {event.cache_size}"
    if not event.compiled:
        head += ", no XLA compile"
    if not event.reasons:
        return head
    groups = reasons_by_entry(event.reasons)
    entry, changes = groups[0]
    text = f"{head}; vs #{entry}: {reasons_text(changes)}"
    if len(groups) > 1:
        text += f" (and {len(groups) - 1} more earlier entries)"
    return text


def too_many_compiles_text(name: str, allowed: int, events: Sequence[WatchEvent]) -> str:
    """`assert_max_compiles`' failure: how often, and for each recompilation what changed."""
    lines = [f"{name} compiled {len(events)} times; at most {allowed} allowed:"]
    for event in events:
        head = f"  compile #{event.compile_number} at {short_path(event.call_site)}"
        if not event.reasons:
            lines.append(f"{head}: {FIRST_COMPILATION}")
            continue
        lines.append(f"{head}:")
        for entry, changes in reasons_by_entry(event.reasons):
            lines.append(f"    vs #{entry}: {reasons_text(changes)}")
    return "\n".join(lines)


COMPILES_SUMMARY = "jaxexplain: jit compilations per test"
NO_TEST_COMPILED = "no test compiled a jitted function"


def compiles_line(
    nodeid: str, compiles: int, seconds: float, functions: Sequence[tuple[str, int]]
) -> str:
    """One test in the pytest plugin's summary: `3 compiles  1.20s  test_x.py::test_y  (step 3)`."""
    per_function = ", ".join(f"{name} {count}" for name, count in functions)
    noun = "compile" if compiles == 1 else "compiles"
    return f"{compiles:>5} {noun:<8} {seconds:>7.2f}s  {nodeid}  ({per_function})"


NEW_OBJECT = "a new function object, whose jit cache starts empty"
NO_COMPILE = "a new cache entry without an XLA compile: JAX reused its trace and executable"


def real_run_note(earlier: int, event: int, same_object: bool, compiled: bool = True) -> str:
    """The verdict's evidence under `watch --explain`: the program's own call made a new cache
    entry, compiled or (a trace and executable reused) not."""
    cache = "its jit cache grew" if same_object else "a new function object's cache started"
    if not compiled:
        return (
            f"the real run made a new cache entry at event {event} (after event {earlier}) "
            f"without an XLA compile: {cache}, the executable reused"
        )
    return f"the real run compiled again at event {event} (after event {earlier}): {cache}"


def unmatched_explain_text(name: str) -> str:
    """`--explain NAME` that selected nothing the program compiled."""
    return (
        f"--explain {name} matched no function the program compiled (give a function's name, "
        "the file.py:line of its def, or all)"
    )


def real_recompile_note(compile_number: int) -> str:
    """A recompilation diffed against a compile of another function object of the same code."""
    return (
        f"diffed against compile #{compile_number} of another function object made from the same "
        "code (a closure or partial made again): JAX's cache is per function object"
    )


# ---------------------------------------------------------------- watch: cache layers

FAST_PATH_NOT_COUNTED = (
    "not counted: JAX's C++ dispatch serves these calls without running Python and gives no "
    "count of them"
)
LAYER_NAMES = {
    "fast_path": "fast path",
    "tracing_cache": "tracing cache",
    "executable": "executable reused",
    "lowering": "lowered again",
    "disk": "disk cache",
    "compile": "XLA compile",
}
LAYER_SHORT = {
    "fast_path": "fast",
    "tracing_cache": "trace$",
    "executable": "exe$",
    "lowering": "lower",
    "disk": "disk",
    "compile": "compile",
}
LAYERS_LEGEND = (
    "Layers: calls served by each of JAX's caches after a fast-path miss (trace$: the tracing "
    "cache, exe$: traced again, executable reused, lower: lowered again, disk: the persistent "
    "cache, compile: an XLA compile); fast-path hits run in C++ and are not counted by JAX."
)
FAST_PATH_CAUSES = {
    "host_effects": (
        "its program has a host callback with a side effect{where}, and JAX's C++ fast path "
        "runs no program with effects",
        "Move the callback out of the step run every iteration (return the value and print it "
        "outside jit, or call a second jitted function with the callback every N steps); "
        "jax.pure_callback, which has no effect, stays on the fast path.",
    ),
    "host_callbacks": (
        "its program calls back to Python, and this JAX's C++ fast path runs no program with "
        "host callbacks, effect or not",
        "Move the callback out of the step run every iteration, or use jax 0.7 or later, whose "
        "fast path runs programs with pure callbacks.",
    ),
    "abstracted_axes": (
        "it was jitted with abstracted_axes, whose calls JAX's C++ fast path does not serve",
        "Drop abstracted_axes (experimental) where the shapes are known.",
    ),
    "attrs": (
        "it reads or writes object attributes through jax.experimental.attrs, which JAX's C++ "
        "fast path does not serve",
        "Pass the values in and out as arguments instead.",
    ),
    "key_reuse": (
        "jax_debug_key_reuse is set and a PRNG key goes in or out, checked on the Python path",
        "Unset jax_debug_key_reuse outside debugging.",
    ),
    "ref_effects": (
        "its program reads or writes a mutable array reference, and JAX's C++ fast path runs "
        "no program with reference effects",
        "Pass the values in and out as arrays instead of through a reference.",
    ),
    "pgle": (
        "profile-guided optimization is still profiling it (jax_pgle_profiling_runs), and JAX "
        "keeps it off the fast path until it recompiles with the profile",
        "This ends after the profiling runs; nothing to change.",
    ),
    "no_execution": (
        "jax_no_execution is set",
        "Unset jax_no_execution.",
    ),
    "outputs": (
        "an output is not a plain jax.Array, and JAX's C++ fast path returns only arrays",
        "Return arrays (or pytrees of arrays) only.",
    ),
    "no_executable": (
        "JAX ran it without an executable of its own (staged into another computation)",
        "",
    ),
}


def fast_path_miss_text(
    name: str,
    call_site: str,
    calls: int,
    cause: str | None,
    effects: Sequence[tuple[str, str | None]],
) -> str:
    """A call site whose calls all ran JAX's Python dispatch: the condition that held, the fix."""
    head = (
        f"{name}: all {calls} calls at {short_path(call_site)} were kept off JAX's C++ fast path "
        f"and ran its Python dispatch"
    )
    if cause is None or cause not in FAST_PATH_CAUSES:
        return head + "; JAX kept no fast-path entry, for none of the reasons jaxexplain checks."
    why, fix = FAST_PATH_CAUSES[cause]
    where = ""
    if effects:
        shown = ", ".join(
            f"{primitive} at {short_path(line)}" if line else primitive
            for primitive, line in effects[:3]
        )
        where = f" ({shown})"
    return f"{head}: {why.format(where=where)}. {fix}".rstrip()


def layers_text(layers: dict[str, LayerCount]) -> str:
    """`trace$ 99 0.010s · compile 1 0.250s`: the counted layers that served any call."""
    parts = [
        f"{LAYER_SHORT.get(layer, layer)} {count.calls} {count.seconds:.3f}s"
        for layer, count in layers.items()
        if count.calls
    ]
    return " · ".join(parts)


def _build_site_text(site: Any) -> str:
    """Where an object is built, saying which kind of line it is."""
    where = f"{short_path(site.file)}:{site.line}"
    if site.how == "definition":
        return f"the {site.detail} defined at {where}, made anew each time that code runs"
    if site.how == "assignment":
        return f"built at {where} (the assignment of `{site.detail}`, the object the call passed)"
    return (
        f"passed at the call at {where} (no local variable holds it: it is built there or before)"
    )


def jit_once_text(name: str, objects: int, site: Any, verified: bool) -> str:
    """jit_once: a function jitted anew per step, the line, and whether one jit serves all."""
    if site.how == "definition":
        made = f"{name} was jitted as {objects} new function objects: {_build_site_text(site)}"
    else:
        made = (
            f"{name} was jitted as {objects} new function objects ({site.detail or 'function'} "
            f"objects; called at {short_path(site.file)}:{site.line}, where it is jitted)"
        )
    head = f"{made}; each starts with an empty jit cache and compiles again."
    if verified:
        return (
            f"{head} Their cache keys are equal apart from the function object and JAX traced "
            f"the same program each time: jit it once, outside the loop, and one compile "
            f"serves every call."
        )
    return (
        f"{head} Their programs or keys differ too (values baked into the closure): jit it "
        f"once and pass the changing values as arguments."
    )


def build_once_text(name: str, root: str, objects: int, site: Any, verified: bool) -> str:
    """build_once: an identity-compared static built per call, the line, whether it was checked."""
    head = (
        f"{name}: the static `{root}` compares by identity and was a new object {objects} times, "
        f"{_build_site_text(site)}; each new object compiles again."
    )
    if verified:
        return (
            f"{head} The cache keys are equal apart from that object and JAX traced the same "
            f"program: build it once, outside the loop, and pass the same object every call."
        )
    return (
        f"{head} Its value changes the program too: build each distinct one once and reuse it, "
        f"or give its type __eq__ and __hash__ over its fields."
    )


RECOMMENDATIONS_HEADING = "Recommendations"
RECOMMENDATION_KINDS = {
    "jit_once": "jit once",
    "build_once": "build once",
}


def recommendation_head(recommendation: Any) -> str:
    """`jit once (verified) at train.py:12:` before a recommendation's text."""
    kind = RECOMMENDATION_KINDS.get(recommendation.kind, recommendation.kind)
    checked = "verified" if recommendation.verified else "not verified"
    where = (
        f" at {location(recommendation.file, recommendation.line)}" if recommendation.file else ""
    )
    return f"{kind} ({checked}){where}:"


HOST_VALUE = "host value (Python scalar or NumPy)"


def placement_text(sharding: str | None, on_device: bool) -> str:
    """Where JAX's dispatch sees a traced leaf: its committed sharding, an uncommitted array,
    or a host value, which JAX keys apart from a jax.Array of the same shape and dtype."""
    if sharding:
        return sharding
    return "uncommitted" if on_device else HOST_VALUE


def mesh_text(axes: Iterable[MeshAxis]) -> str:
    """`data=2, model=2`: a mesh's axes by name and size."""
    return ", ".join(f"{axis.name}={axis.size}" for axis in axes) or "no axes"


def collectives_heading_text(collectives: Sequence[Collective]) -> str:
    """`3 collectives, 1.5 KiB per device, from XLA's partitioned HLO`."""
    total = sum(c.bytes for c in collectives)
    return (
        f"{plural(len(collectives), 'collective')}, {human_bytes(total)} per device, from "
        f"XLA's partitioned HLO"
    )


def collective_kinds_text(kinds: dict[str, int]) -> str:
    """`2 all-reduce, 1 all-gather`."""
    return ", ".join(f"{count} {kind}" for kind, count in kinds.items())


def collective_where(file: str | None, line: int | None) -> str:
    """The user line a collective came from, or that XLA named none."""
    return short_path(f"{file}:{line}") if file else "no source line in the HLO"


def collective_text(c: Collective) -> str:
    """`all-reduce of 256 B over mesh[...] from jit(step)/dot_general at dp.py:6`."""
    return (
        f"{c.kind} of {human_bytes(c.bytes)} over {c.replica_groups or 'all devices'} from "
        f"{c.op_name or 'an unnamed equation'} at {collective_where(c.file, c.line)}"
    )


def collective_changes_text(added: Sequence[str], removed: Sequence[str]) -> list[str]:
    """Lines for a diff: collectives only side B has, and those only side A has."""
    return [f"+ {text} (only side B)" for text in added] + [
        f"- {text} (only side A)" for text in removed
    ]


def placement_summary(placement: Placement) -> str:
    """`P('data', None) on data=2`, `SingleDeviceSharding on devices 1`: a sharding in brief."""
    if placement.spec is not None:
        return f"{placement.spec} on {mesh_text(placement.mesh)}"
    return f"{placement.kind} on {devices_text(placement.devices)}"


def devices_text(ids: Sequence[int]) -> str:
    """`devices 0,1`: the device ids a sharding places on, in its order."""
    return "devices " + ",".join(map(str, ids))


def watch_totals_text(totals: WatchTotals, wall_seconds: float) -> str:
    """`6 compilations of 1 function, 0.750 s compiling, 0.12 s in all`."""
    return (
        f"{plural(totals.compilations, 'compilation')} of {plural(totals.functions, 'function')}, "
        f"{totals.seconds:.3f} s compiling, {wall_seconds:.2f} s in all"
    )


def recompilations_text(count: int) -> str:
    """`5 recompilations`, `1 recompilation`."""
    return plural(count, "recompilation")


def program_end_text(report: WatchReport) -> str | None:
    """How the watched program ended, when not well: what it raised, or its exit status."""
    if report.error:
        return f"the program raised {report.error.strip().splitlines()[0]}"
    if report.exit_code:
        return f"the program exited with status {report.exit_code}"
    return None


def called_at(call_site: str) -> str:
    """`called at train.py:34`: the user's line that made the call."""
    return f"called at {short_path(call_site)}"


def entry_text(entry: int) -> str:
    """The earlier entry a recompilation's differences are against: `vs compile #2`."""
    return f"vs compile #{entry}"


def more_entries_text(more: int, fewest: int) -> str:
    """The earlier entries past the first few, counted: each differs in more components."""
    return f"and {more} more earlier entries, each with {fewest} or more differences"


def eager_count_text(totals: WatchTotals) -> str:
    """`7 small compilations of eager operations`."""
    return f"{totals.eager_compiles} small compilations of eager operations"


def eager_text(report: WatchReport, totals: WatchTotals, shown: int) -> str:
    """`7 small compilations of eager operations (dynamic_slice 4, ...), 0.500 s`."""
    names = ", ".join(f"{e.primitive} {e.compiles}" for e in report.eager[:shown])
    if len(report.eager) > shown:
        names += ", ..."
    return f"{eager_count_text(totals)} ({names}), {totals.eager_seconds:.3f} s"


def other_compiles_text(report: WatchReport) -> str:
    """Compilations that were no jit call of a watched function (AOT and the like)."""
    return (
        f"{report.other_compiles} compilations outside jit calls (AOT .lower().compile() "
        f"and the like), {report.other_seconds:.3f} s"
    )


def internal_errors_text(errors: Sequence[str]) -> str:
    """Events jaxexplain failed on (they are left out of the report), and the first failure."""
    return f"jaxexplain could not analyse {len(errors)} event(s): {errors[0]}"


def compile_title(explained: WatchExplained, event: WatchEvent | None) -> str:
    """`Compile #2 of train_step (event 2)`: an explained compilation's heading; a call that
    failed to trace never compiled, and has no event."""
    if event is None:
        return f"Call of {explained.function} that did not compile"
    return f"Compile #{event.compile_number} of {explained.function} (event {event.index})"


def against_title(event: WatchEvent) -> str:
    """The heading of an explained recompilation's diff: `Diff against compile #1 (event 1)`."""
    return f"Diff against compile #{event.compile_number} (event {event.index})"


# ---------------------------------------------------------------- baked-in constants


def _subject(name: str, where: str, owner: str) -> str:
    """`static argument `lr`` or `` `temperature`, a number the function made by make_step closes over``."""
    if where == "closure":
        made_by = f" made by {owner}" if owner else ""
        return f"`{name}`, a Python number the function{made_by} closes over,"
    if where == "filter_jit":
        return f"`{name}`, which equinox.filter_jit holds static (it is no array),"
    return f"static argument `{name}`"


def filter_field_how(name: str, value: Any) -> str:
    """How to have `equinox.filter_jit` trace a number a module holds: store it as an array,
    which filter_jit traces; `eqx.field(static=True)` is for what must stay static."""
    _, dot, field = name.rpartition(".")
    if not dot:
        return f"pass `{name}` as an array (`jnp.asarray({value!r})`), so that filter_jit traces it"
    return (
        f"store `{name}` as an array where the module is built (`{field}=jnp.asarray({value!r})`)"
        f", so that filter_jit traces it; mark it `eqx.field(static=True)` only where it must "
        f"stay static"
    )


def filter_field_stay_static_text(name: str, a: Any, b: Any, structure: StructureDifference) -> str:
    """Why a number that `equinox.filter_jit` holds static must stay so, in equinox's words."""
    return (
        f"`{name}`, which equinox.filter_jit holds static, changes the program's structure, "
        f"not only its constants ({a!r} vs {b!r}: {structure_text(structure)}); it must stay "
        f"static{' (`eqx.field(static=True)` says so)' if '.' in name else ''}, and each value "
        f"compiles once."
    )


def filter_field_float_text(function: str, name: str, values: str, count: int) -> str:
    """A module's float field that `equinox.filter_jit` holds static and that changed."""
    return (
        f"{function}: `{name}` is a Python float that equinox.filter_jit holds static (it is no "
        f"array) and it changes between calls ({count} values: {values}); each new value "
        f"compiles anew. Store it as an array (`jnp.asarray(...)` where the module is built) "
        f"so that filter_jit traces it; mark it `eqx.field(static=True)` only where it must "
        f"stay static."
    )


def traced_how(name: str, spec: str, source: str, vocabulary: Vocabulary) -> str:
    """How to pass a static number traced, where it was made static: in the jax.jit of the
    user's code (its decorator, or the program `watch` ran), or by the caller's own option
    (`--arg lr=f32[]` in place of `--static lr=0.1` on the command line)."""
    if source == "decorator" or vocabulary.caller == "program":
        return "pass it as a traced argument (take it out of static_argnums/static_argnames in its jax.jit)"
    return (
        f"pass it as a traced argument ({vocabulary.traced(name, spec)} in place of "
        f"{vocabulary.static(name, '...')})"
    )


CLOSURE_HOW = "pass it to the jitted function as an argument instead of closing over it"


def make_traced_text(
    name: str, a: Any, b: Any, how: str, where: str = "static", owner: str = ""
) -> str:
    """Why and how (`traced_how`, or CLOSURE_HOW) to pass a baked-in number traced, with what
    jaxexplain checked."""
    return (
        f"{capitalized(_subject(name, where, owner))} only changes constants in the program "
        f"({a!r} and {b!r} give the same program but for them): every new value is a new "
        f"compile and a new entry in the disk cache. {capitalized(how)}: one compiled program "
        f"then serves every value. Checked: traced, both values were served by one compiled "
        f"entry, with the same results as the original at each value."
    )


def structure_text(d: StructureDifference) -> str:
    """Where two programs first differ beyond constants: `equations: 7 vs 11`,
    `equation 2 (broadcast_in_dim) shape=(3,) vs (4,)`, inside a loop's body
    `equation 1 (scan) jaxpr: equation 3 (mul) outputs: f32[3] vs f32[4]`."""
    within = "".join(f"equation {p.equation} ({p.primitive}) {p.parameter}: " for p in d.within)
    if d.at is None:
        return f"{within}{d.part}: {d.a} vs {d.b}"
    if d.part == "primitive":
        return f"{within}equation {d.at.equation}: {d.a} vs {d.b}"
    equation = f"equation {d.at.equation} ({d.at.primitive})"
    if d.part == "parameter":
        return f"{within}{equation} {d.parameter}={d.a} vs {d.b}"
    return f"{within}{equation} {d.part}: {d.a} vs {d.b}"


def stay_static_text(name: str, a: Any, b: Any, structure: StructureDifference) -> str:
    """Why a static number must stay static: it changes the program, not only a constant."""
    return (
        f"Static argument `{name}` changes the program's structure, not only its constants "
        f"({a!r} vs {b!r}: {structure_text(structure)}); it must stay static, and each value "
        f"compiles once."
    )


NEW_FUNCTION_FIX = (
    "A lambda, closure or functools.partial created in a loop and then jitted does this: "
    "create the jitted function once, outside the loop, and pass the changing values as "
    "arguments."
)


def new_function_text(name: str, objects: int, site: str) -> str:
    """How many function objects of one definition jax.jit was given: each compiles again."""
    return (
        f"{name}: jax.jit was given a new function object {objects} times (called at {site}); "
        f"each new object starts with an empty cache and compiles again."
    )


def counted_only(message: str) -> str:
    """A new_function warning without its fix, where a verified recommendation carries it."""
    return message.removesuffix(f" {NEW_FUNCTION_FIX}")


def make_traced_rejected_text(name: str, error: str, no_inputs: bool, entries: int | None) -> str:
    """Why jaxexplain does not offer to pass a number traced although only constants change:
    the rewrite raised `error` when traced, no inputs could be made, JAX kept `entries`
    compiled entries for the two values, or else the results differed."""
    if error:
        note = f"traced, it fails: {error}"
    elif no_inputs:
        note = "no random inputs can stand for the other arguments"
    elif entries is not None:
        note = f"JAX kept {entries} compiled entries for the two values, not one"
    else:
        note = "the results differ from the original's on random inputs"
    return f"`{name}` only changes constants, but passing it traced was not verified: {note}"


def untraceable_static_text(function: str, name: str, error: str) -> str:
    """A static float that changes between calls but fails when traced: it stays static."""
    return (
        f"{function}: static argument `{name}` is a float that changes between calls, and "
        f"each new value compiles anew. It only changes constants, yet it "
        f"cannot simply be passed traced: traced, the code fails ({error}). Keep it static "
        f"with few distinct values, or change the code that needs it as a Python number."
    )


# ---------------------------------------------------------------- statics that will bite


def _size_of(value: Any) -> str:
    """` of 100000 elements` for a value with a length, else ``."""
    try:
        return f" of {len(value)} elements"
    except Exception:
        return ""


def slow_hash_text(name: str, value: Any, seconds: float, threshold: float) -> str:
    """A static whose hash alone costs more than a jitted call's dispatch."""
    return (
        f"hashing static argument {name} (a {type(value).__qualname__}{_size_of(value)}) takes "
        f"{seconds * 1e3:.2f} ms, over the {threshold * 1e3:.2f} ms a jitted call's dispatch "
        f"takes: jit hashes it (and compares it with ==) on every call before it can reuse a "
        f"compiled entry; pass the data as a traced array, or a small static that stands for it"
    )


def stale_entry_text(name: str, kind: str, fields: Sequence[str]) -> str:
    """A mutable static whose hash and == leave out fields: a changed value hits a stale entry."""
    shown = ", ".join(f"`{f}`" for f in fields[:4]) + (", ..." if len(fields) > 4 else "")
    return (
        f"static argument {name} (a {kind}) can be changed in place, and a copy with {shown} "
        f"changed still has the same hash and is ==: jit would serve the changed value from the "
        f"entry compiled for the old one (a stale program); make {shown} part of __hash__ and "
        f"__eq__, or make the object immutable"
    )


def unfrozen_dataclass_text(name: str, kind: str) -> str:
    """A hashable dataclass whose fields can be assigned, used as a static."""
    return (
        f"static argument {name} is a {kind} dataclass without frozen=True: its fields can be "
        f"assigned after jit stored it in its cache key, so the key no longer says what was "
        f"compiled; declare it @dataclass(frozen=True)"
    )


STATIC_TRAPS = "Statics that will bite"
STATIC_TRAPS_DETAIL = "each found by trying the object itself"


def compared_by_text(s: StaticKey) -> str:
    """How JAX's cache compares a static: `by value` (== and hash) or `by identity`."""
    return f"by {s.compared_by}"


def hash_time_text(s: StaticKey) -> str:
    """The measured time to hash a static, which jit pays on every call: `0.7 µs`."""
    return (
        f"{s.hash_seconds * 1e6:.1f} µs"
        if s.hash_seconds < 1e-3
        else f"{s.hash_seconds * 1e3:.2f} ms"
    )


def static_trap_texts(key: CacheKey, notes: Sequence[str]) -> list[str]:
    """The statics' warnings not already among the report's notes (identity ones are there)."""
    return [w for s in key.static for w in s.warnings if w not in notes]


# ---------------------------------------------------------------------------------------------
# JAX's persistent compilation cache (`jax_compilation_cache_dir`)

DISK_ABSENT = "absent"
DISK_NO_EARLIER_RECORD = "no earlier record"
DISK_COMPUTATION_CHANGED = (
    "computation differs (StableHLO without debug info; - the earlier entry, + this compile):"
)
_CACHE_DIR_PROBLEMS = {
    "file": "is a file, not a directory",
    "missing": "does not exist and could not be created",
    "unwritable": "cannot be read or written",
    "": "could not be opened",
}


def short_digest(digest: str) -> str:
    """A part's digest where its inputs cannot be read back: enough of it to tell two apart."""
    return f"digest {digest[:12]}" if digest else DISK_ABSENT


def disk_record_unwritable(folder: str, error: str) -> str:
    """A note when jaxexplain's own record folder refuses: the program is not affected."""
    return f"jaxexplain could not keep its record of this entry in {folder} ({error})"


def cache_dir_problem(path: str, state: str) -> str:
    """What is wrong with a cache directory JAX could not use."""
    return f"{path} {_CACHE_DIR_PROBLEMS.get(state, _CACHE_DIR_PROBLEMS[''])}"


def not_written_text(why: str, setting: str, value: str, measured: str) -> str:
    """Why JAX wrote no disk entry for a compile, with the setting and the measured value."""
    if why == "unreadable":
        return (
            f"JAX could not read its entry ({measured}) and never replaces an entry that "
            "exists: every run compiles again until the entry is deleted"
        )
    if why == "compile_time":
        return f"compiled in {measured} s < {setting} = {value}"
    if why == "entry_size":
        return f"entry of {measured} bytes < {setting} = {value}"
    if why == "host_callbacks":
        return "uses host callbacks (jax.debug.print, a callback): JAX never writes those"
    if why == "process":
        return f"written only by process 0; this is process {measured}"
    if why == "no_cache":
        return f"no usable cache directory: {measured}"
    return f"error while writing: {measured}" if measured else "JAX did not write it"


def disk_differ_text(part: str, a: str, b: str) -> str:
    """One differing part of the disk key, on one line (a computation's first changed line)."""
    if part == "computation":
        first_b = b.splitlines()[0] if b else DISK_ABSENT
        first_a = a.splitlines()[0] if a else DISK_ABSENT
        return f"computation differs: {first_b} (was {first_a})"
    return f"{part} differ{'s' if part != 'XLA flags' else ''}: {b} (was {a})"


def disk_head(persistent: Any) -> str:
    """What the disk cache did for one compile, without why it missed (`persistent` a
    PersistentCache): "disk: hit, 1.2 s saved", "disk: miss (written)", "disk: not written — ..."."""
    if persistent.status == "hit":
        return f"disk: hit, {max(persistent.seconds_saved or 0.0, 0.0):.1f} s saved"
    if persistent.status == "off":
        return "disk: off"
    if persistent.status == "miss":
        return "disk: miss (written)"
    written = persistent.not_written.text if persistent.not_written else ""
    return f"disk: not written — {written}"


def disk_line(persistent: Any) -> str:
    """What the disk cache did for one compile, in one line (`persistent` a PersistentCache)."""
    head = disk_head(persistent)
    if persistent.status in ("hit", "off"):
        return head
    why = "; ".join(disk_differ_text(d.part, d.a, d.b) for d in persistent.differs)
    if persistent.status == "miss":
        return f"{head} — {why or persistent.note or DISK_NO_EARLIER_RECORD}"
    return head + (f"; missed: {why}" if why else "")


def disk_summary(events: Sequence[WatchEvent]) -> str:
    """The run's disk-cache totals, or "" when no compile used a cache directory."""
    used = [e.persistent for e in events if e.persistent and e.persistent.status != "off"]
    if not used:
        return ""
    hits = [p for p in used if p.status == "hit"]
    saved = sum(max(p.seconds_saved or 0.0, 0.0) for p in hits)
    written = sum(p.status == "miss" for p in used)
    skipped = sum(p.status == "not_written" for p in used)
    return (
        f"disk cache: {len(hits)} hit{'s' if len(hits) != 1 else ''} ({saved:.1f} s saved), "
        f"{written} written, {skipped} not written"
    )


def disk_key_line(persistent: Any) -> str:
    """`trace`'s line about the call's disk key (`persistent` a PersistentKey), the key's digest
    cut to 16 hex digits (JSON keeps it whole)."""
    name, _, digest = persistent.key.rpartition("-")
    where = f" in {persistent.cache_dir}" if persistent.cache_dir else ""
    held = (
        "on disk: this call would be served from it"
        if persistent.would_hit
        else "not on disk before this compile"
    )
    return f"disk key {name}-{digest[:16]}…{where}: {held}"


def buckets_text(function: str, buckets: Buckets) -> str:
    """`step: x.shape[0]: 37 sizes from 3 to 511 → 6 buckets (...): 37 compiles (41.0 s) → 6
    (6.6 s), +18% flops from padding`, then what to do."""
    sizes = [int(s) for s in buckets.sizes]
    together = f" (with {', '.join(buckets.also)})" if buckets.also else ""
    edges = ", ".join(str(e) for e in buckets.edges)
    return (
        f"{function}: {buckets.path}{together}: {len(sizes)} sizes from {min(sizes)} to "
        f"{max(sizes)} → {len(buckets.edges)} buckets ({edges}): {buckets.compiles_now} "
        f"compiles ({buckets.compile_seconds_now:.1f} s) → {buckets.compiles_with} "
        f"({buckets.compile_seconds_with:.1f} s), +{buckets.padding_flops_ratio:.0%} flops from "
        f"padding. Pad each call up to the smallest edge that holds it (jnp.pad), and mask the "
        f"padded rows out of means and sums."
    )


def buckets_checked_text(buckets: Buckets) -> str:
    """What was checked before the buckets were recommended, and what the compile seconds are."""
    return (
        f"Checked: jaxexplain compiled the function at each of the {len(buckets.edges)} edges; "
        f"the seconds with buckets are those compiles'."
    )


def buckets_calls_text(buckets: Buckets) -> str:
    """Which calls the sizes count: only those JAX's Python dispatch saw, never guessed more."""
    counts = ", ".join(f"{size}: {calls}" for size, calls in buckets.sizes.items())
    return (
        f"Calls per size ({counts}) count only the calls that reached JAX's Python dispatch "
        f"and were keyed (the first call of each size, which compiled); repeated calls of a "
        f"size are not counted: JAX's C++ fast path counts nothing, and a call a host callback "
        f"keeps off it is counted only in the cache layers. The padding is weighed per call seen."
    )


def export_text(path: str, export: ExportCheck) -> str:
    """Whether one shape-polymorphic export could serve every size, and what stops it."""
    if export.works:
        return (
            f"jax.export with a symbolic {path} works: one shape-polymorphic program could "
            f"serve every size."
        )
    where = f" at {location(export.file, export.line)}" if export.file else ""
    return f"jax.export with a symbolic {path} does not work{where}: {export.blocker}"


def program_interrupted_text(status: int) -> str:
    """One line for a watched program ended by Ctrl-C (130) or SIGTERM (143)."""
    how = "terminated (SIGTERM)" if status == 143 else "interrupted (Ctrl-C)"
    return f"the program was {how}; the report holds the compilations so far"


# ---------------------------------------------------------------- sweep

# Each figure a sweep measures: its label and unit ("" a count, "s" seconds, "bytes").
SWEEP_FIGURES = {
    "equations": ("equations", ""),
    "equations_nested": ("equations, nested included", ""),
    "trace_seconds": ("trace seconds", "s"),
    "lower_seconds": ("lower seconds", "s"),
    "compile_seconds": ("compile seconds", "s"),
    "flops": ("flops", ""),
    "bytes_accessed": ("bytes accessed", "bytes"),
    "argument_bytes": ("argument memory", "bytes"),
    "output_bytes": ("output memory", "bytes"),
    "temp_bytes": ("temp memory", "bytes"),
    "generated_code_bytes": ("generated code", "bytes"),
}
SWEEP_HEADERS = {
    "equations": "eqns",
    "equations_nested": "nested",
    "trace_seconds": "trace",
    "lower_seconds": "lower",
    "compile_seconds": "compile",
    "flops": "flops",
    "bytes_accessed": "bytes",
    "argument_bytes": "args",
    "output_bytes": "out",
    "temp_bytes": "temp",
    "generated_code_bytes": "code",
}
CACHES_CLEARED_NOTE = (
    "JAX's in-memory caches were cleared (jax.clear_caches()) before every point, so each "
    "point's trace, lower and compile seconds are a fresh trace and a real XLA compile"
)
NO_COMPILE_NOTE = "compiling was skipped (--no-compile): no XLA figures"
SWEEP_LOOPS_HEADING = "Loops that unroll with the swept value"
SWEEP_SUGGESTIONS_HEADING = "The swept static"
_LAWS = {
    "linear": "grow linearly",
    "nlogn": "grow as n log n",
    "quadratic": "grow quadratically",
    "exponential": "grow exponentially",
}


def sweep_notes(compiled: bool, disk_cache_dir: str | None) -> tuple[str, ...]:
    """What a sweep's seconds are: fresh traces and real compiles, or no compiles at all; a
    persistent cache directory in effect may still serve a compile from disk."""
    notes = [CACHES_CLEARED_NOTE if compiled else NO_COMPILE_NOTE]
    if compiled and disk_cache_dir:
        notes.append(
            f"a persistent compilation cache is in effect ({disk_cache_dir}): a point found "
            f"there is read from disk, not compiled; unset it for compile seconds from scratch"
        )
    return tuple(notes)


def figure_label(figure: str) -> str:
    """`compile_seconds` -> "compile seconds"."""
    return SWEEP_FIGURES[figure][0]


def sweep_figure_text(figure: str, value: float | None) -> str:
    """A sweep figure in its unit; a count of equations exactly."""
    unit = SWEEP_FIGURES[figure][1]
    if figure.startswith("equations") and value is not None:
        return f"{int(value):,}"
    return figure_text(value, unit)


def point_label(values: dict[str, Any]) -> str:
    """`n=8, x=f32[16,128]`."""
    return ", ".join(f"{name}={value}" for name, value in values.items())


def law_text(growth: Growth, singular: bool = False) -> str:
    """`grow linearly with n` (`grows` for one figure such as a memory), or, where no simple
    law fits, that none does and the slope."""
    ending = "s" if singular else ""
    if growth.name == "other":
        slope = f"log-log slope {growth.exponent:.1f}"
        return f"follow{ending} no simple law in {growth.of} ({slope})"
    verb, _, how = _LAWS[growth.name].partition(" ")
    words = f"{verb}{ending} {how} with {growth.of}"
    if growth.name in ("quadratic", "nlogn"):
        words += f" (~{growth.of}^{growth.exponent:.1f})"
    return words


def loop_text(loop: LoopGrowth) -> str:
    """`loop at model.py:41 unrolls n times` (or `2n times`, or its counts where no ratio holds)."""
    where = f"loop at {location(loop.file, loop.line)}"
    if loop.per_value is None:
        counts = ", ".join("-" if c is None else str(c) for c in loop.iterations)
        return f"{where} unrolls {counts} times"
    ratio = "" if loop.per_value == 1 else f"{loop.per_value:g}*"
    return f"{where} unrolls {ratio}{loop.of} times"


def growth_verdict(
    figure: str,
    growth: Growth,
    loops: Sequence[LoopGrowth],
    predictions: Sequence[Prediction],
) -> str:
    """One plain line per figure: `equations grow linearly with n: loop at model.py:41 unrolls
    n times`, `compile seconds grow ~n^1.6; at n=512 expect ~40.000 s`."""
    if growth.name == "constant":
        return f"{figure_label(figure)}: no growth with {growth.of}"
    label = figure_label(figure)
    text = f"{label} {law_text(growth, singular=not label.endswith('s'))}"
    drivers = [loop for loop in loops if loop.of == growth.of]
    if figure.startswith("equations") and growth.name != "constant" and drivers:
        text += ": " + "; ".join(loop_text(loop) for loop in drivers)
    ahead = [p for p in predictions if p.figure == figure]
    if ahead:
        text += "; " + ", ".join(prediction_text(p) for p in ahead)
    return text


def prediction_text(p: Prediction) -> str:
    """`at n=512 expect ~40.000 s`."""
    return f"at {p.of}={p.at:g} expect ~{sweep_figure_text(p.figure, p.value)}"


def budget_text(b: BudgetExceeded) -> str:
    """`compile seconds 31.2 s is over the budget of 30 s at n=512`."""
    return (
        f"{figure_label(b.figure)} {sweep_figure_text(b.figure, b.value)} is over the budget of "
        f"{sweep_figure_text(b.figure, b.limit)} at {point_label(b.values)}"
    )


def budgets_kept_text(budgets: dict[str, float]) -> str:
    """`every point within budget (compile seconds 30.000 s, equations 20,000)`."""
    kept = ", ".join(f"{figure_label(f)} {sweep_figure_text(f, v)}" for f, v in budgets.items())
    return f"every point within budget ({kept})"


def loop_rewrite_text(loop: LoopGrowth) -> str:
    """What the structured rewrite of an unrolling loop does, and which checks it passed."""
    lines = (
        f"line {loop.first_line}"
        if loop.first_line == loop.last_line
        else f"lines {loop.first_line}-{loop.last_line}"
    )
    kind = "lax.fori_loop" if loop.rewrite_kind == "fori_loop" else f"lax.{loop.rewrite_kind}"
    head = f"a {kind} keeps the loop as one structured equation: replace {lines} of {short_path(loop.file)} with the code below"
    if loop.verified:
        counts = loop.rewrite_equations[0] if loop.rewrite_equations else 0
        return (
            f"{head}; jaxexplain traced it at the first and last points ({plural(counts, 'equation')} "
            f"at both: it no longer grows with {loop.of}) and compared it with your loop on "
            f"random inputs: the same values."
        )
    return f"{head}; not verified: {loop.rejected or 'its checks did not run'}."


def rewrite_fails_text(reason: str) -> str:
    """The rewrite did not compile or trace."""
    return f"it does not trace ({reason})"


def rewrite_grows_text(counts: Sequence[int]) -> str:
    """The rewrite still grows: other equation counts at the first and last points."""
    return f"its equation count still grows ({' -> '.join(str(c) for c in counts)})"


def rewrite_differs_text() -> str:
    """The rewrite returned other values than the user's loop."""
    return "it returns other values than your loop on random inputs"


def rewrite_unchecked_text() -> str:
    """The rewrite could not be compared with the user's loop."""
    return "jaxexplain could not run your original loop on random inputs to compare it"


def failed_point_text(error: ErrorInfo) -> str:
    """A point that failed: the error class and its first line, at the user's line."""
    where = f" at {location(error.file, error.line)}" if error.file else ""
    reason = (error.explanation or error.message).split("\n")[0]
    return f"{error.type}{where}: {reason}"


def interrupted_text(done: int, planned: int) -> str:
    """A sweep that Ctrl-C ended: how far it got."""
    return f"interrupted after {done} of {plural(planned, 'point')}: the report holds those"


def sweep_exit_text(report: SweepReport) -> str:
    """The paragraph on stderr of a sweep that exits 1: budgets over, points that failed."""
    parts = [budget_text(b) for b in report.budget_exceeded]
    failed = [(p.values, p.error) for p in report.points if p.error is not None]
    if failed:
        values, error = failed[0]
        parts.append(
            f"{plural(len(failed), 'point')} failed, first at {point_label(values)}: "
            f"{failed_point_text(error)}"
        )
    return "; ".join(parts)


def sweep_change_text(c: DecisionChange) -> str:
    """A decision that changed from the point before: `growth.py:13 for i in range(n): 4
    iterations -> 8 iterations`."""
    a, b = outcomes_text(c.kind, c.a), outcomes_text(c.kind, c.b)
    return f"{location(c.file, c.line)} {as_written(c.kind, c.source)}: {a} -> {b}"


# How to see what a section folded: the flag that shows it.
FULL_JAXPR = "--jaxpr full shows them"
MORE_LINES = "a larger --max-lines shows them"


def folded_lines_text(count: int, how: str) -> str:
    """The line that stands for the lines a section folded, and how to see them."""
    return f"... {count:,} more line{'s' * (count != 1)} ({how})"


def unknown_sections_text(names: Sequence[str], known: Sequence[str]) -> str:
    """`--sections` names that match no section title, and the titles there are."""
    return f"--sections: no section matches {', '.join(names)}; sections here: {', '.join(known)}"


SUMMARY = "Summary"


def failed_summary(error: ErrorInfo) -> str:
    """The failure in one line: what JAX raised, and at which line of the user's."""
    where = f" at {location(error.file, error.line)}" if error.file else ""
    return f"tracing failed{where}: {error.type}"


def equations_summary(jaxpr: JaxprInfo) -> str:
    """How big the jaxpr is, nested jaxprs counted where they add equations."""
    text = f"{jaxpr.equations:,} equation{'s' * (jaxpr.equations != 1)} in the jaxpr"
    if jaxpr.equations_total != jaxpr.equations:
        text += f" ({jaxpr.equations_total:,} with nested jaxprs)"
    return text


def top_sources_text(sources: Sequence[tuple[str, int]]) -> str:
    """The source lines that made the most jaxpr lines."""
    named = ", ".join(f"{source_location(s)} ({count:,})" for s, count in sources)
    return f"most from {named}"


def repeated_text(length: int, count: int) -> str:
    """The note under a repeated block of the jaxpr shown once."""
    return (
        f"×{count}: these {length:,} lines repeat {count} times in a row ({length * count:,} lines)"
    )


# The summary's compile figures, in this order.
SUMMARY_FIGURES = ("compile", "temp memory", "argument memory")


def compile_summary(figures: Sequence[Figure]) -> str:
    """Compile time and memory in one line."""
    named = {f.label: f for f in figures}
    parts = [
        f"{label} {figure_text(named[label].value, named[label].unit)}"
        for label in SUMMARY_FIGURES
        if label in named and named[label].value is not None
    ]
    return "compiled: " + ", ".join(parts)


# Progress stages, on stderr while a run works.
IMPORTING_JAX = "importing JAX"
COMPILING = "lowering and compiling with XLA"
RENDERING = "writing the report"
IMPORTING_TARGET = "importing the target"
TRACING_ONLY = "tracing"
RECORDING = "recording the baked-in decisions"
LOWERING = "lowering"
VERIFYING = "checking the verdict with JAX"


def side_stage_text(side: str, stage: str) -> str:
    """A diff's stage: which side it is on (`side B: lowering`)."""
    return f"side {side}: {stage}"


def point_stage_text(index: int, count: int, values: Mapping[str, Any], stage: str) -> str:
    """A sweep's stage: which point of how many, with its values (`point 3/8, n=32: tracing`)."""
    shown = ", ".join(f"{name}={value}" for name, value in values.items())
    return f"point {index}/{count}" + (f", {shown}" if shown else "") + f": {stage}"


def warming_up_text(stage: str) -> str:
    """A sweep's first, uncounted run of its first point (JAX and XLA load their own code)."""
    return f"warming up on the first point: {stage}"


# A timing change smaller than this, relative or in seconds, is within run-to-run noise.
NOISE_RELATIVE = 0.2
NOISE_SECONDS = 0.05


def timing_noise_text(timings: Sequence[FigureChange]) -> str:
    """What the timing changes of a diff are worth: each side is timed once, so a change under
    the noise thresholds says nothing, and one over them is a hint until repeated."""
    noisy = [f.name for f in timings if _is_noise(f)]
    if not timings:
        return ""
    head = "timings are single runs of each side"
    if len(noisy) == len(timings):
        return f"{head}: every timing change is within noise (under {NOISE_RELATIVE:.0%} or {NOISE_SECONDS * 1000:.0f} ms)"
    if noisy:
        return f"{head}: {', '.join(noisy)} changed within noise (under {NOISE_RELATIVE:.0%} or {NOISE_SECONDS * 1000:.0f} ms); the rest may be noise too until repeated"
    return f"{head}: a change may be noise until repeated"


def _is_noise(change: FigureChange) -> bool:
    if change.a is None or change.b is None:
        return True
    delta = abs(change.b - change.a)
    return delta < NOISE_SECONDS or (change.a > 0 and delta / change.a < NOISE_RELATIVE)


# ---------------------------------------------------------------- many processes (merge)

MERGE_PROCESSES_HEADING = "Processes"
MERGE_FUNCTIONS_HEADING = "Compilations per function and process"
MERGE_DIVERGENCES_HEADING = "Divergences"
MERGE_PROCESS_COLUMNS = ("process", "compilations", "exit", "file")
MERGE_FUNCTION_COLUMN = "function"
MERGE_AGREE = (
    "every process compiled the same programs in the same order: their collectives pair up"
)


def ordinal(number: int) -> str:
    """`1st`, `2nd`, `3rd`, `4th`, `11th`, `22nd`."""
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def processes_text(indices: Sequence[int]) -> str:
    """`process 0`, `processes 0, 2, 3`."""
    listed = ", ".join(str(i) for i in indices)
    return f"process {listed}" if len(indices) == 1 else f"processes {listed}"


def divergence_text(d: Divergence) -> str:
    """One divergence in a sentence, with the reason and what it does to the run:
    `process 1 compiled train_step a 3rd time (shape x [32, 784] -> [17, 784], its last
    compilation: a smaller last batch?); process 0 did not: the collectives of that program
    will wait forever`."""
    others = processes_text(d.others)
    reasons = reasons_text(d.reasons)
    if d.last and any(r.component == "shape" for r in d.reasons):
        reasons += ", its last compilation: a smaller last batch?"
    why = f" ({reasons})" if reasons else ""
    if d.kind == "missing":
        return (
            f"process {d.process} did not compile {d.function} a {ordinal(d.compile)} time; "
            f"{others} did: their collectives will wait forever for process {d.process}"
        )
    if d.kind == "different":
        return (
            f"process {d.process} compiled {d.function} a {ordinal(d.compile)} time for another "
            f"key than {others}{why}: the processes run different programs, whose collectives "
            f"do not pair up"
        )
    return (
        f"process {d.process} compiled {d.function} a {ordinal(d.compile)} time{why}; {others} "
        f"did not: the collectives of that program will wait forever"
    )


def merge_summary_text(processes: int, divergences: int) -> str:
    """`2 processes, 1 divergence`."""
    return f"{plural(processes, 'process', 'processes')}, {plural(divergences, 'divergence')}"


def unreadable_watch_text(path: str, exc: Exception) -> str:
    """A merge input that is no watch document."""
    return (
        f"{path} is not a watch report that jaxexplain can read ({type(exc).__name__}: {exc}); "
        f"give the JSON files that `jaxexplain watch -o watch.json -- script.py` wrote in each "
        f"process (watch.p0.json, watch.p1.json, ...)"
    )


def merge_needs_files_text() -> str:
    """`merge` without files."""
    return (
        "name the watch reports to merge, one per process: jaxexplain merge watch.p0.json "
        "watch.p1.json"
    )


def duplicate_process_note(index: int) -> str:
    """Two reports that say they are the same process."""
    return f"two reports are process {index}: they cannot come from one run"


def process_count_note(counts: Sequence[int], given: int) -> str:
    """Reports whose process count is not the number of reports merged."""
    said = " or ".join(str(c) for c in counts)
    return f"the reports say the run had {said} processes, and {given} were merged"
