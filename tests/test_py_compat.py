"""Each Python-version fact of jaxexplain/_py_compat.py checked against the running interpreter's
real behaviour (its bytecode, its AST, its hooks), so that a Python release that changes one
fails here first, naming the fact."""

from __future__ import annotations

import ast
import dis
import sys
from types import CodeType

from jaxexplain import _py_compat
from jaxexplain.decisions.recorder import DecisionRecorder
from tests.recording import roles_of
from tests.targets.decisions import compiled


def nested_code_names(code: CodeType) -> set[str]:
    """The names of the code objects compiled inside `code`, at any depth."""
    found: set[str] = set()
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            found |= {constant.co_name, *nested_code_names(constant)}
    return found


def test_sys_monitoring_reports_only_the_code_objects_a_tool_asks_for() -> None:
    """HAS_MONITORING: a tool's local events fire for the code it chose and for no other."""
    assert hasattr(sys, "monitoring") == _py_compat.HAS_MONITORING
    if not _py_compat.HAS_MONITORING:
        return
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    tool = next(i for i in range(6) if monitoring.get_tool(i) is None)
    started: list[str] = []
    monitoring.use_tool_id(tool, "test-py-compat")
    try:
        monitoring.register_callback(
            tool, monitoring.events.PY_START, lambda code, offset: started.append(code.co_name)
        )
        monitoring.set_local_events(tool, compiled.returns_a_local.__code__, 1)
        compiled.returns_a_local(1)
        compiled.returns_a_constant()
    finally:
        monitoring.set_local_events(tool, compiled.returns_a_local.__code__, 0)
        monitoring.register_callback(tool, monitoring.events.PY_START, None)
        monitoring.free_tool_id(tool)
    assert started == ["returns_a_local"]


def test_a_recording_runs_on_a_global_trace_function_only_where_recording_slows_tracing():
    """RECORDING_SLOWS_TRACING: the recorder's hook is sys.settrace, which every Python call
    goes through, exactly where the flag says so; with sys.monitoring none is installed."""
    seen: list[object] = []

    def looks(n: int) -> int:
        seen.append(sys.gettrace())
        return n

    before = sys.gettrace()
    with DecisionRecorder(looks, roles_of(looks, {})):
        looks(1)
    assert (seen[0] is not before) == _py_compat.RECORDING_SLOWS_TRACING


def test_settrace_writes_its_events_into_the_code_object_where_it_runs_on_monitoring() -> None:
    """SETTRACE_RUNS_ON_MONITORING: after a function ran under sys.settrace with opcode
    events, its code object holds INSTRUMENTED_ instructions, which all its frames share."""

    def local(frame, event, arg):  # type: ignore[no-untyped-def]
        return local

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        if frame.f_code is not compiled.jumps.__code__:
            return None
        frame.f_trace_opcodes = True
        return local

    saved = sys.gettrace()
    sys.settrace(tracer)
    try:
        compiled.jumps([1, 2, 5], 3)
        names = {i.opname for i in dis.get_instructions(compiled.jumps, adaptive=True)}
    finally:
        sys.settrace(saved)
    instrumented = any(name.startswith("INSTRUMENTED_") for name in names)
    assert instrumented == _py_compat.SETTRACE_RUNS_ON_MONITORING


def test_setprofile_rewrites_the_instrumentation_of_the_code_it_profiles() -> None:
    """SETPROFILE_DISTURBS_RECORDING: after a function ran under sys.setprofile, its code object
    holds INSTRUMENTED_ instructions (sys.monitoring's), where the recorder's events live too."""

    def profiler(frame, event, arg):  # type: ignore[no-untyped-def]
        return None

    saved = sys.getprofile()
    sys.setprofile(profiler)
    try:
        compiled.comprehensions([1, 2, 3])
    finally:
        sys.setprofile(saved)
    names = {i.opname for i in dis.get_instructions(compiled.comprehensions, adaptive=True)}
    instrumented = any(name.startswith("INSTRUMENTED_") for name in names)
    assert instrumented == _py_compat.SETPROFILE_DISTURBS_RECORDING


def test_the_return_opcodes_are_those_functions_return_with() -> None:
    """RETURN_OPCODES: a constant, a local and nothing returned, and no other way to return."""
    functions = (compiled.returns_a_constant, compiled.returns_a_local, compiled.returns_nothing)
    last = {list(dis.get_instructions(f))[-1].opname for f in functions}
    assert last == _py_compat.RETURN_OPCODES


def test_the_jump_opcodes_are_the_instructions_that_jump() -> None:
    """JUMP_OPCODES: their targets are exactly the instructions dis marks as jumped to, and
    every instruction named as a jump or loop step is one."""
    instructions = list(dis.get_instructions(compiled.jumps))
    jumping = [i for i in instructions if i.opcode in _py_compat.JUMP_OPCODES]
    assert {i.argval for i in jumping} == {i.offset for i in instructions if i.is_jump_target}
    named = {i.opname for i in instructions if "JUMP" in i.opname or i.opname == "FOR_ITER"}
    assert named <= {i.opname for i in jumping}


def test_comprehensions_have_code_objects_of_their_own_where_the_flag_says() -> None:
    """COMPREHENSIONS_HAVE_OWN_CODE: list, set and dict comprehensions compile to
    `<listcomp>`, `<setcomp>` and `<dictcomp>`, or are inlined; a generator expression
    always has its own code object."""
    names = nested_code_names(compiled.comprehensions.__code__)
    assert "<genexpr>" in names
    own = {"<listcomp>", "<setcomp>", "<dictcomp>"}
    assert (names & own == own) == _py_compat.COMPREHENSIONS_HAVE_OWN_CODE
    assert (names & own == set()) == (not _py_compat.COMPREHENSIONS_HAVE_OWN_CODE)


def test_a_function_definition_has_type_parameters_where_the_flag_says() -> None:
    """FUNCTION_DEF_HAS_TYPE_PARAMS: the field exists, a parsed `def` has it, and the
    syntax `def f[T]` parses."""
    assert ("type_params" in ast.FunctionDef._fields) == _py_compat.FUNCTION_DEF_HAS_TYPE_PARAMS
    parsed = ast.parse("def f(x):\n    return x").body[0]
    assert hasattr(parsed, "type_params") == _py_compat.FUNCTION_DEF_HAS_TYPE_PARAMS
    try:
        ast.parse("def f[T](x: T) -> T:\n    return x")
    except SyntaxError:
        generic = False
    else:
        generic = True
    assert generic == _py_compat.FUNCTION_DEF_HAS_TYPE_PARAMS
