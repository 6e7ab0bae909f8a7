"""Where a helper's arguments came from (decisions/provenance.py): by identity, among the calling
frame's locals and what they hold, on real frames; arrays are data and never matched."""

from __future__ import annotations

from tests.targets.decisions import handed


def test_an_argument_and_its_fields_are_found_in_the_callers_locals() -> None:
    found = handed.holder()
    assert found["config"] == ((("model", ".config"),), False)
    assert found["config.act"] == ((("model", ".config", ".act"),), True)
    assert found["config.depth"] == ((("model", ".config", ".depth"),), True)


def test_a_shared_small_value_is_found_with_every_local_that_holds_it() -> None:
    """`True` is one object however it was made: identity alone cannot say where it came
    from, which the flag says."""
    assert handed.holder()["flag"] == ((("train",),), True)


def test_arrays_are_data_never_matched() -> None:
    assert not any(key.startswith("weights") for key in handed.holder())
