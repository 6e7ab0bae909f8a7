"""inputs/caller.py: each caller's words for giving a value are what that caller can type."""

from __future__ import annotations

import ast
import re

import pytest

from jaxexplain.errors import UsageError
from jaxexplain.inputs.caller import CLI, FUNCTION_API, TARGET_API, Vocabulary
from jaxexplain.inputs.specs import (
    ArraySpec,
    parse_array_spec,
    parse_static_value,
    split_assignment,
    split_static,
)


def test_the_command_line_words_parse_back_to_the_name_and_value() -> None:
    assert split_static(CLI.static("n", "3")[len("--static ") :], factory=False) == ("n", 3)
    option, _, assignment = CLI.traced("x").partition(" ")
    assert (option, split_assignment(assignment, option)) == ("--arg", ("x", "f32[8,128]"))
    option, _, assignment = CLI.vs("config.causal", "False").partition(" ")
    assert split_assignment(assignment, option, dotted=True) == ("config.causal", "False")
    assert CLI.factory("m:f") == "--args-from m:f"
    assert (CLI.target_from("m:f"), CLI.vs_from("m:f")) == ("--target-from m:f", "--vs-from m:f")


def _keywords(words: str) -> dict[str, str]:
    """The keyword arguments a call written with `words` would pass."""
    call = ast.parse(f"f({words})", mode="eval").body
    assert isinstance(call, ast.Call)
    return {k.arg or "": ast.unparse(k.value) for k in call.keywords}


@pytest.mark.parametrize("vocabulary", [TARGET_API, FUNCTION_API])
def test_the_api_words_are_keyword_arguments_of_python_calls(vocabulary: Vocabulary) -> None:
    for words in (
        vocabulary.static("n", "3"),
        vocabulary.traced("x"),
        vocabulary.vs("n", "4"),
        vocabulary.factory("m:f"),
    ):
        assert _keywords(words), words


def test_the_target_api_takes_values_in_dicts_and_parsed_specs() -> None:
    assert _keywords(TARGET_API.static("n", "3")) == {"static": "{'n': 3}"}
    assert _keywords(TARGET_API.traced("x")) == {"traced": "{'x': parse_array_spec('f32[8,128]')}"}
    assert parse_array_spec("f32[8,128]") == ArraySpec((8, 128), "float32")
    assert _keywords(TARGET_API.vs("n", "'4'")) == {"vs": "{'n': '4'}"}
    assert _keywords(TARGET_API.factory("m:f")) == {"args_from": "'m:f'"}
    assert _keywords(TARGET_API.target_from("m:f")) == {"target_from": "'m:f'"}
    assert _keywords(TARGET_API.vs_from("m:f")) == {"vs_from": "'m:f'"}


def test_the_function_api_names_the_functions_own_arguments() -> None:
    assert _keywords(FUNCTION_API.static("n", "3")) == {"static_argnames": "'n'", "n": "3"}
    assert _keywords(FUNCTION_API.traced("x")) == {"x": "'f32[8,128]'"}
    assert (CLI.caller, TARGET_API.caller, FUNCTION_API.caller) == ("cli", "api", "api")


@pytest.mark.parametrize("vocabulary", [CLI, TARGET_API])
def test_an_object_is_pointed_to_the_callers_factory(vocabulary: Vocabulary) -> None:
    with pytest.raises(UsageError, match=re.escape(f"comes from an {vocabulary.factory()}")):
        parse_static_value("object()", vocabulary)
