"""Where `differing_part` stops showing two structures whole: both must be short, and the limit
is exactly twice the context (mutants of that condition survived the module's own tests)."""

from __future__ import annotations

from jaxexplain.tracing.key_compare import TREEDEF_CONTEXT, differing_part

LIMIT = 2 * TREEDEF_CONTEXT


def _pair(common: int, tail_a: str, tail_b: str) -> tuple[str, str]:
    return "p" * common + tail_a, "p" * common + tail_b


def test_two_structures_of_exactly_the_limit_stay_whole() -> None:
    a, b = _pair(LIMIT - 20, "a" * 20, "b" * 20)
    assert len(a) == len(b) == LIMIT
    assert differing_part(a, b) == (a, b)


def test_one_structure_past_the_limit_cuts_both() -> None:
    a, b = _pair(LIMIT - 20, "a" + "s" * 10, "b" * 50 + "s" * 10)
    assert len(a) <= LIMIT < len(b)
    cut_a, cut_b = differing_part(a, b)
    assert cut_a.startswith("…") and cut_b.startswith("…")
    assert "a" in cut_a and "b" * 50 in cut_b


def test_a_long_first_structure_is_cut_though_the_second_is_short() -> None:
    a, b = _pair(LIMIT - 20, "a" * 50, "b")
    assert len(b) <= LIMIT < len(a) <= 3 * TREEDEF_CONTEXT
    cut_a, cut_b = differing_part(a, b)
    assert cut_a.startswith("…") and cut_b.startswith("…")
