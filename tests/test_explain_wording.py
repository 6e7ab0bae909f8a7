"""explain/wording.py: how a fix tells its caller to mark an argument static (the command
line's flag or the API's parameter, from this one place), and the small words of explanations."""

from __future__ import annotations

import ast
import os
import shlex
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxexplain.explain import wording
from jaxexplain.explain.rewrites import Construct
from jaxexplain.inputs.caller import CLI, FUNCTION_API, TARGET_API
from jaxexplain.inputs.calling import BoundParam, plan_call
from jaxexplain.report import Source


def params(source: Source = "cli", **values: Any) -> dict[str, BoundParam]:
    plan = plan_call(lambda n=None, shape=None, solver=None: None, {}, values, source=source)
    return {p.name: p for p in plan.params}


def test_a_static_fix_names_the_flag_on_the_command_line_and_the_parameter_in_the_api() -> None:
    given = params(n=4)
    cli = wording.static_how(["n"], {"n": 4}, given, CLI)
    api = wording.static_how(["n"], {"n": 4}, given, FUNCTION_API)
    assert cli == " (--static n=4, or jax.jit(..., static_argnames=('n',)))"
    assert api == (
        " (static_argnames=('n',) to jaxexplain.trace, or jax.jit(..., static_argnames=('n',)))"
    )
    target_api = wording.static_how(["n"], {"n": 4}, given, TARGET_API)
    assert target_api.startswith(' (static={"n": 4} to jaxexplain.trace_target, or jax.jit(')


def test_a_value_no_literal_spells_drops_the_flag_not_the_parameter() -> None:
    solver = object()
    given = params(source="api", solver=solver)
    assert wording.static_flag(given["solver"], solver) is None
    assert wording.static_how(["solver"], {"solver": solver}, given, CLI) == (
        " (jax.jit(..., static_argnames=('solver',)))"
    )
    assert wording.static_how(["solver"], {"solver": solver}, given, FUNCTION_API).startswith(
        " (static_argnames=('solver',) to jaxexplain.trace, or "
    )


def test_a_factorys_object_is_kept_by_the_flag_without_a_value() -> None:
    solver = object()
    given = params(source="factory", solver=solver)
    flag = wording.static_flag(given["solver"], solver)
    assert flag == "--static solver with no =VALUE, which keeps the --args-from factory's value"


def test_a_flag_is_quoted_as_the_shell_and_static_read_it_back() -> None:
    given = params(shape=[4, 5])
    flag = wording.static_flag(given["shape"], (4, 5))
    assert flag is not None
    (option, assignment) = shlex.split(flag)
    assert option == "--static" and ast.literal_eval(assignment.split("=", 1)[1]) == (4, 5)
    how = wording.static_how(["shape"], {"shape": (4, 5)}, given, CLI)
    assert how.endswith("static_argnames=('shape',)), passing shape as a tuple)")


def test_a_name_without_a_value_is_given_later_as_each_caller_gives_it() -> None:
    given = params(n=jax.ShapeDtypeStruct((), np.int32))
    assert wording.static_option(["n"], {}, given, CLI) == "--static n=VALUE"
    assert wording.static_option(["n"], {}, given, FUNCTION_API) == (
        "static_argnames=('n',) to jaxexplain.trace"
    )
    assert wording.static_option(["n"], {}, given, TARGET_API) == (
        'static={"n": VALUE} to jaxexplain.trace_target'
    )
    assert wording.static_how(["n"], {}, given, CLI) == (
        " (--static n=VALUE, or jax.jit(..., static_argnames=('n',)))"
    )


def test_the_small_words() -> None:
    assert wording.and_join(["a"]) == "a"
    assert wording.and_join(["a", "b", "c"]) == "a, b and c"
    assert wording.it_or_them(["a"]) == "it" and wording.it_or_them(["a", "b"]) == "them"
    assert wording.capitalised("an `if` test") == "An `if` test"
    assert wording.names_tuple(["t_end", "dt"]) == "('t_end', 'dt')"
    assert wording.jit_static(["n"]) == "jax.jit(..., static_argnames=('n',))"
    assert wording.tuple_on_command_line("sizes", (1, 2)) == (
        ' (on the command line: --static sizes="(1, 2)")'
    )


def test_a_path_is_shown_from_the_current_directory_when_it_lies_below_it() -> None:
    here = Path(__file__).resolve()
    assert wording.relative_path(str(here)) == os.path.relpath(here)
    assert wording.relative_path("/") == "/"


def test_the_expression_a_construct_needed_is_its_source() -> None:
    statement = ast.parse("if x > 0 and y:\n    pass").body[0]
    assert isinstance(statement, ast.If)
    one = Construct("if", statement, (statement.test,))
    assert wording.expression_text(one) == "x > 0 and y"
    several = Construct("call", statement, (statement.test, statement.test))
    assert wording.expression_text(several) == "if x > 0 and y:"
