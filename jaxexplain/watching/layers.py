"""Which of JAX's cache layers served each jit call that missed the C++ fast path, per call site.

A call the C++ dispatch path serves never reaches Python, so JAX gives no count of those: the
"fast_path" layer says so instead of a number. Every other call ran `cache_miss`; what JAX
reported while it ran says how far it went: no trace (the tracing cache served it, with the
lowering and executable cached behind it), a trace but no lowering (the executable in memory was
reused), a lowering but no XLA compile, an executable read from the persistent cache on disk, or
a full compile. A call that JAX keeps off the fast path every time (a host callback in the
program) is named with the condition of `_get_fastpath_data` that held, checked on the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from jaxexplain import _jax_compat
from jaxexplain.renderers.words import FAST_PATH_NOT_COUNTED, fast_path_miss_text
from jaxexplain.report import CallSiteLayers, LayerCount, WatchFunction, WatchWarning
from jaxexplain.watching.hooks import Observation

LAYERS = ("fast_path", "tracing_cache", "executable", "lowering", "disk", "compile")
"""The layers in the order a call reaches them; "fast_path" is never counted (see above)."""

Definition = tuple[str, str, int]


def layer_of(observation: Observation) -> str:
    """The deepest layer a fast-path miss reached, from the events JAX reported during it."""
    if observation.persistent_cache_hit:
        return "disk"
    if observation.backend_compiled:
        return "compile"
    if observation.lowered:
        return "lowering"
    if observation.traced:
        return "executable"
    return "tracing_cache"


@dataclass
class Refusal:
    """Calls at one call site that JAX kept off the fast path, and the condition that held."""

    cause: str | None
    calls: int = 0
    effects: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class LayerCounts:
    """Calls and seconds per function definition, call site and layer; refusals per site."""

    sites: dict[Definition, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    refusals: dict[tuple[Definition, str], Refusal] = field(default_factory=dict)

    def count(self, observation: Observation, definition: Definition, call_site: str) -> None:
        """One fast-path miss: its layer and wall seconds (JAX's Python dispatch, run included)."""
        layers = self.sites.setdefault(definition, {}).setdefault(call_site, {})
        tally = layers.setdefault(layer_of(observation), [0, 0.0])
        tally[0] += 1
        tally[1] += max(observation.ended - observation.started, 0.0)
        if observation.fast_path is False:
            self._refused(observation, definition, call_site)

    def _refused(self, observation: Observation, definition: Definition, call_site: str) -> None:
        """The cause is checked once per site; the effect lines are read from the call's jaxpr."""
        refusal = self.refusals.get((definition, call_site))
        if refusal is None:
            refusal = Refusal(observation.refusal)
            if observation.refusal == "host_effects" and observation.params is not None:
                refusal.effects = _jax_compat.effect_equations(
                    _jax_compat.pjit_params_jaxpr(observation.params)
                )
            self.refusals[(definition, call_site)] = refusal
        refusal.calls += 1

    def function_layers(self, definition: Definition) -> tuple[dict[str, LayerCount], ...]:
        """The function's layers over all its call sites, then per site (same order as seen)."""
        sites = self.sites.get(definition, {})
        per_site = {site: _layer_counts([layers]) for site, layers in sites.items()}
        return (_layer_counts(list(sites.values())), *per_site.values())

    def with_layers(self, functions: Sequence[WatchFunction]) -> tuple[WatchFunction, ...]:
        """Each function's totals with its layers; a function that missed the fast path but
        compiled nothing while watched (compiled before) is added with no compiles."""
        known = {(f.function, f.file, f.line) for f in functions}
        extra = [
            WatchFunction(function=name, compiles=0, seconds=0.0, file=file, line=line)
            for (name, file, line) in self.sites
            if (name, file, line) not in known
        ]
        out = []
        for function in (*functions, *extra):
            definition = (function.function, function.file, function.line)
            total, *per_site = self.function_layers(definition)
            sites = tuple(self.sites.get(definition, {}))
            out.append(
                _replace_layers(
                    function,
                    total,
                    tuple(CallSiteLayers(s, c) for s, c in zip(sites, per_site, strict=True)),
                )
            )
        return tuple(out)

    def warnings(self) -> tuple[WatchWarning, ...]:
        """A call site that missed the fast path on more than one call, with the cause."""
        return tuple(
            WatchWarning(
                "fast_path_miss",
                name,
                call_site,
                fast_path_miss_text(name, call_site, refusal.calls, refusal.cause, refusal.effects),
            )
            for ((name, _, _), call_site), refusal in self.refusals.items()
            if refusal.calls > 1
        )


def _layer_counts(sites: Sequence[dict[str, list[float]]]) -> dict[str, LayerCount]:
    """Summed over call sites; fast_path uncounted, every other layer counted (zero included)."""
    counts = {"fast_path": LayerCount(None, 0.0, FAST_PATH_NOT_COUNTED)}
    for layer in LAYERS[1:]:
        tallies = [site[layer] for site in sites if layer in site]
        counts[layer] = LayerCount(
            int(sum(t[0] for t in tallies)), float(sum(t[1] for t in tallies))
        )
    return counts


def _replace_layers(
    function: WatchFunction, layers: dict[str, LayerCount], sites: tuple[CallSiteLayers, ...]
) -> WatchFunction:
    return replace(function, layers=layers if sites else {}, sites=sites)
