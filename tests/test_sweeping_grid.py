"""`--over`, `--budget` and `--predict` texts to the points of a sweep, and their usage errors."""

from __future__ import annotations

import pytest

from jaxexplain.errors import UsageError
from jaxexplain.sweeping import grid


def test_a_list_of_literals_is_a_static_axis() -> None:
    (axis,) = grid.parse_over(["n=1,2,4"])
    assert axis == grid.Axis("n", ("1", "2", "4"), traced=False)


def test_a_geometric_and_an_arithmetic_range_include_their_end() -> None:
    assert grid.parse_axis("n", "1..64x2").texts == ("1", "2", "4", "8", "16", "32", "64")
    assert grid.parse_axis("n", "8..64+8").texts == tuple(str(v) for v in range(8, 65, 8))
    assert grid.parse_axis("n", "1..3").texts == ("1", "2", "3")


def test_braces_vary_one_dimension_of_a_traced_spec() -> None:
    axis = grid.parse_axis("x", "f32[{8,16,32},128]")
    assert axis.texts == ("f32[8,128]", "f32[16,128]", "f32[32,128]")
    assert axis.traced
    assert grid.parse_axis("x", "f32[{2..8x2}]").texts == ("f32[2]", "f32[4]", "f32[8]")


def test_specs_and_tuples_split_at_top_level_commas_only() -> None:
    assert grid.parse_axis("x", "f32[8,2],f32[4,2]").texts == ("f32[8,2]", "f32[4,2]")
    assert grid.split_top_level("(1, 2),(3, 4),'a,b'") == ["(1, 2)", "(3, 4)", "'a,b'"]


def test_several_axes_make_a_grid_with_the_last_varying_fastest() -> None:
    axes = grid.parse_over(["n=1,2", "act=relu,gelu"])
    assert grid.points(axes) == [
        {"n": "1", "act": "relu"},
        {"n": "1", "act": "gelu"},
        {"n": "2", "act": "relu"},
        {"n": "2", "act": "gelu"},
    ]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "at least one --over"),
        (["n=1,2", "n=3"], "more than once"),
        (["n=64..1x2"], "runs upwards"),
        (["n=1..8x1"], "K >= 2"),
        (["x=f32[8],3"], "mixes array specs"),
        (["n=1,,2"], "an empty value"),
        (["n=f32[{1,2}][{3}]"], "one {...} group"),
        (["n=1..100000"], "more than 10000"),
    ],
)
def test_bad_over_texts_are_usage_errors(texts: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        grid.parse_over(texts)


def test_budgets_name_known_figures_with_numbers() -> None:
    assert grid.parse_budgets(["compile_seconds=30", "equations=2e4"]) == {
        "compile_seconds": 30.0,
        "equations": 20000.0,
    }
    with pytest.raises(UsageError, match="unknown figure 'eqns'"):
        grid.parse_budgets(["eqns=3"])
    with pytest.raises(UsageError, match="no number"):
        grid.parse_budgets(["equations=many"])


def test_predictions_name_a_swept_parameter() -> None:
    axes = grid.parse_over(["n=1,2,4"])
    assert grid.parse_predictions(["n=512"], axes) == {"n": 512.0}
    with pytest.raises(UsageError, match="m is not swept"):
        grid.parse_predictions(["m=3"], axes)


def test_a_name_both_swept_and_given_is_refused() -> None:
    with pytest.raises(UsageError, match="given by --over and by --static"):
        grid.refuse_overlap(grid.parse_over(["n=1,2"]), ["n"])
