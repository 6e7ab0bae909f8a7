"""Who asked, the command line or the Python API, and how a message names each way to give a value.

A usage error tells its reader what to type next, so it speaks their language: a CLI user types
`--static n=3`, a notebook user passes `static_argnames="n", n=3`. Messages that both can meet
are made from the caller's `Vocabulary`. Nothing here imports JAX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

Caller = Literal["cli", "api", "program"]


@dataclass(frozen=True)
class Vocabulary:
    """The spelling of each way to give a value, as format strings over `name`, `value`, `spec`.

    `instance` says how to give the `self` of a jitted method, which no spec can spell.
    """

    caller: Caller
    static_form: str
    traced_form: str
    vs_form: str
    factory_form: str
    given_form: str
    instance: str
    target_form: str
    target_from_form: str
    vs_from_form: str
    statics_form: str = ""

    def static(self, name: str, value: str = "3") -> str:
        """How to make `name` static with the literal `value`: `--static n=3`, `static={"n": 3}`."""
        return self.static_form.format(name=name, value=value)

    def traced(self, name: str, value: str = "f32[8,128]") -> str:
        """How to pass `name` traced with the spec `value`: `--arg x=f32[8,128]`, `x="f32[8,128]"`."""
        return self.traced_form.format(name=name, value=value)

    def vs(self, name: str, value: str = "...") -> str:
        """How side B of a diff gives `name` the value `value`: `--vs n=4`, `vs={"n": 4}`."""
        return self.vs_form.format(name=name, value=value)

    def factory(self, spec: str = "MOD:FACTORY") -> str:
        """How a factory gives the arguments: `--args-from MOD:FACTORY`, `args_from="MOD:FACTORY"`."""
        return self.factory_form.format(spec=spec)

    def target_from(self, spec: str = "MOD:FACTORY") -> str:
        """How a factory gives the function itself: `--target-from MOD:FACTORY`,
        `target_from="MOD:FACTORY"`."""
        return self.target_from_form.format(spec=spec)

    def vs_from(self, spec: str = "MOD:FACTORY") -> str:
        """How a factory gives side B's values: `--vs-from MOD:FACTORY`, `vs_from="MOD:FACTORY"`."""
        return self.vs_from_form.format(spec=spec)

    def statics(self, names: Sequence[str], values: Mapping[str, str]) -> str:
        """How to make several names static at once, each with its value's source text (VALUE
        where none is known): `static={"n": 4}` to `trace_target`, `static_argnames=('n',)` to
        `trace`, whose values are the arguments the user passes anyway."""
        entries = ", ".join(f'"{n}": {values.get(n, "VALUE")}' for n in names)
        return self.statics_form.format(names=tuple(names), entries="{" + entries + "}")

    def given(self, name: str) -> str:
        """How to make static the value the factory gives `name`: `--static solver` alone."""
        return self.given_form.format(name=name)


CLI = Vocabulary(
    caller="cli",
    static_form="--static {name}={value}",
    traced_form="--arg {name}={value}",
    vs_form="--vs {name}={value}",
    factory_form="--args-from {spec}",
    given_form="--static {name} without a value",
    instance="return it from an --args-from factory, e.g. {'self': Model(...), 'x': ...}",
    target_form="TARGET",
    target_from_form="--target-from {spec}",
    vs_from_form="--vs-from {spec}",
)
# `jaxexplain.trace_target` and `diff_target`: values by name in dicts, specs already parsed.
TARGET_API = Vocabulary(
    caller="api",
    static_form='static={{"{name}": {value}}}',
    traced_form='traced={{"{name}": parse_array_spec("{value}")}}',
    vs_form='vs={{"{name}": {value}}}',
    factory_form='args_from="{spec}"',
    given_form='static={{"{name}": GIVEN}}',
    instance="return it from the args_from factory, e.g. {'self': Model(...), 'x': ...}",
    target_form="target",
    target_from_form='target_from="{spec}"',
    vs_from_form='vs_from="{spec}"',
    statics_form="static={entries} to jaxexplain.trace_target",
)
# `jaxexplain.trace` and `diff`: the function's own arguments, spec strings standing for arrays.
FUNCTION_API = replace(
    TARGET_API,
    static_form='static_argnames="{name}", {name}={value}',
    traced_form='{name}="{value}"',
    instance="pass the instance as the first argument, or trace the bound method (model.apply)",
    statics_form="static_argnames={names} to jaxexplain.trace",
)
# `watch --explain`: the program made the call itself, so the fixes are the ones in its own code.
PROGRAM = replace(
    CLI,
    caller="program",
    statics_form="static_argnames={names} in the program's jax.jit",
)
