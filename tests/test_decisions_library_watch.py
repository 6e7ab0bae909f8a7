"""What is watched in library code (decisions/library_watch.py): the few instructions that show
an if/ifexp/while test ran and which way it went give every outcome that all of a frame's
instructions give, on real JAX traces of user code recorded whole."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from jaxexplain import _py_compat
from jaxexplain.decisions import bytecode, library_watch
from tests.recording import X, record, user_module
from tests.targets.decisions import flow

WATCH_CASES = [
    ("branches", {"n": 2}),
    ("branches", {"n": 7}),
    ("loops", {"n": 5}),
    ("site_sums", {}),
    ("comprehensions", {"n": 3}),
    ("dependencies", {"n": 1}),
    ("with_helpers", {"n": 2, "kind": "wide"}),
    ("with_closure", {"n": 3}),
    ("unusual_flow", {"n": 3}),
]


def gated(events: list[int], last_on_line: dict[int, int]) -> list[int]:
    """The instructions a library frame records on Python 3.11, from a frame's whole stream
    of lines (negative) and instructions: opcode events on from a line holding watched ones
    to the last of them."""
    kept, last, on = [], sys.maxsize, True
    for event in events:
        if event < 0:
            last = last_on_line.get(-event, -1)
            on = last >= 0
        elif on:
            kept.append(event)
            on = event < last
    return kept


@pytest.mark.parametrize(("name", "static"), WATCH_CASES)
def test_the_instructions_watched_in_library_code_give_every_outcome(
    name: str, static: dict[str, Any]
) -> None:
    """Library frames record only the instructions that show a test ran and which way it
    went (on Python 3.11, the lines that hold them, up to the last); here, on user code
    recorded whole, every if/ifexp/while outcome found from those alone is the one found
    from all of them."""
    targets = user_module("decisions_targets")
    recorder = record(getattr(targets, name), X, **static)
    analysis = recorder._analyzed()
    compared = 0
    for activation in recorder._frames.activations:
        facts = analysis.facts(activation.code)
        assert facts is not None
        watch = library_watch.watch_of(activation.code, {})
        constructs = [c for c in facts.constructs if c.kind in library_watch.LIBRARY_KINDS]
        streams = {"watched": [e for e in activation.events if watch and e in watch.offsets]}
        if watch is not None and not _py_compat.SETTRACE_RUNS_ON_MONITORING:
            streams["gated"] = gated(activation.events, watch.last_on_line)
        whole = [e for e in activation.events if e >= 0 and e not in facts.neutral]
        for construct in (c for c in constructs if c.literal is None):
            expected = bytecode.outcomes_of(construct, facts, activation, whole)
            for stream in streams.values():
                evidence = [e for e in stream if e not in facts.neutral]
                assert bytecode.outcomes_of(construct, facts, activation, evidence) == expected
            compared += bool(expected)
    assert compared


def test_code_with_no_if_or_while_test_has_nothing_to_watch() -> None:
    """Loops alone decide nothing a library test on a static would: nothing is watched, and
    a frame of that code is never looked at again."""
    assert library_watch.watch_of(flow.looping.__code__, {}) is None
    watch = library_watch.watch_of(flow.halvings.__code__, {})
    assert watch is not None
    assert watch.returns
    assert set(watch.last_on_line.values()) <= watch.offsets


def test_what_to_watch_is_worked_out_once_per_code_object() -> None:
    code = flow.walk.__code__
    assert library_watch.cached_watch(code, {}) is library_watch.cached_watch(code, {})
    assert library_watch.library_can_decide(code) is bytecode.can_decide(code) is True
