"""timings.py: which fields are timings, rounded to the microsecond in JSON and left out of a
stable document, so that two runs of one trace give the same document."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp
import pytest

import jaxexplain
from jaxexplain import report
from jaxexplain.renderers.json import render_diff, render_trace
from jaxexplain.timings import is_timing, json_timings


def step(x: jnp.ndarray, n: int) -> jnp.ndarray:
    for _ in range(n):
        x = jnp.tanh(x)
    return x


@pytest.mark.parametrize(
    ("field", "timing"),
    [
        ("seconds", True),
        ("compile_seconds", True),
        ("seconds_saved", True),
        ("compile_seconds_now", True),
        ("time", True),
        ("padding_flops_ratio", False),
        ("flops", False),
        ("timeout", False),
    ],
)
def test_timing_fields(field: str, timing: bool) -> None:
    assert is_timing(field) is timing


def test_every_float_field_of_the_model_that_measures_seconds_is_a_timing() -> None:
    names = {
        f.name
        for cls in vars(report).values()
        if isinstance(cls, type) and dataclasses.is_dataclass(cls)
        for f in dataclasses.fields(cls)
        if "second" in f.name
    }
    assert names and all(is_timing(name) for name in names)


def test_timings_are_rounded_to_the_microsecond() -> None:
    data = {"compile": {"lower_seconds": 0.123456789, "flops": 1.23456789}}
    data["rows"] = [{"name": "compile seconds", "a": 1.0000004, "b": 2.5, "unit": "s"}]
    assert json_timings(data) == {
        "compile": {"lower_seconds": 0.123457, "flops": 1.23456789},
        "rows": [{"name": "compile seconds", "a": 1.0, "b": 2.5, "unit": "s"}],
    }
    assert json_timings(data, stable=True) == {"compile": {"flops": 1.23456789}, "rows": []}


def test_two_traces_of_one_call_give_one_stable_document() -> None:
    first, second = (jaxexplain.trace(step, "f32[4]", 3, static_argnames="n") for _ in range(2))
    assert first.trace_seconds != second.trace_seconds or first.compile != second.compile
    assert render_trace(first, stable=True) == render_trace(second, stable=True)
    document = json.loads(render_trace(first))
    assert document["compile"]["lower_seconds"] == round(first.compile.lower_seconds, 6)


def test_a_stable_diff_leaves_out_the_compile_seconds_rows() -> None:
    diff = jaxexplain.diff(step, "f32[4]", 3, static_argnames="n", vs={"n": 4})
    units = [row["unit"] for row in json.loads(render_diff(diff))["compile_changes"]]
    stable = json.loads(render_diff(diff, stable=True))["compile_changes"]
    assert "s" in units and [row["unit"] for row in stable] == [u for u in units if u != "s"]
