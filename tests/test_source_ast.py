"""The static facts about user source (jaxexplain/_source_ast.py) on real source: every shape in
tests/targets/source_ast/shapes.py (decorators, nested functions, lambdas, comprehensions,
match, walrus, a condition over several lines, methods, calls through JAX), checked against
what the compiler made of it (code objects, `dis`) and against `ast` and `inspect`."""

from __future__ import annotations

import ast
import dis
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import CodeType

import pytest

from jaxexplain import _source_ast as sa
from tests.targets.source_ast import shapes

CALLS = ("CALL", "CALL_KW", "CALL_FUNCTION_EX")


@pytest.fixture(scope="module")
def source() -> sa.SourceFile:
    loaded = sa.load_source(shapes.__file__)
    assert loaded is not None
    return loaded


def code_objects(code: CodeType) -> Iterator[CodeType]:
    """`code` and every code object compiled inside it, at any depth."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from code_objects(constant)


def compiled(source: sa.SourceFile) -> list[CodeType]:
    return list(code_objects(compile(source.text, source.path, "exec")))


def named(source: sa.SourceFile, name: str) -> ast.FunctionDef:
    """The `def` called `name`."""
    return next(
        n for n in ast.walk(source.tree) if isinstance(n, ast.FunctionDef) and n.name == name
    )


def nodes(root: ast.AST, kind: type) -> list:
    """The nodes of one kind under `root`, in source order."""
    found = [n for n in ast.walk(root) if isinstance(n, kind)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def span(instruction: dis.Instruction) -> sa.Span | None:
    """An instruction's range as (line, column, end line, end column)."""
    line, end_line, column, end_column = instruction.positions or (None,) * 4
    if line is None or end_line is None or column is None or end_column is None:
        return None
    return (line, column, end_line, end_column)


def argument_names(code: CodeType) -> set[str]:
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return set(code.co_varnames[:count])


def test_every_code_object_maps_to_the_node_it_was_compiled_from(source):
    """Decorated functions start at their first decorator, two lambdas on one line are told
    apart by their instructions' ranges, and each function is named as Python names it."""
    for code in compiled(source):
        node = source.scope_for_code(code)
        assert node is not None, code.co_qualname
        if code.co_name == "<module>":
            assert node is source.tree
            continue
        assert sa.first_line(node) == code.co_firstlineno
        if isinstance(node, (*sa.FUNCTIONS, ast.ClassDef)):
            assert source.qualname(node) == code.co_qualname
        if isinstance(node, sa.FUNCTIONS):
            assert set(sa.parameters(node)) == argument_names(code)
        else:
            assert isinstance(node, (ast.ClassDef, *sa.COMPREHENSIONS))


def test_code_spans_are_the_code_objects_positions(source):
    for code in compiled(source):
        expected = [
            None if None in position else (position[0], position[2], position[1], position[3])
            for position in code.co_positions()
        ]
        assert list(sa.code_spans(code)) == expected


def test_each_call_is_found_by_the_range_its_call_instruction_carries(source):
    ranges = {
        span(instruction)
        for code in compiled(source)
        for instruction in dis.get_instructions(code)
        if instruction.opname in CALLS
    }
    calls = nodes(source.tree, ast.Call)
    assert {sa.span_of(call) for call in calls} <= ranges
    assert all(source.calls[sa.span_of(call)] is call for call in calls)


def test_calls_within_a_range_come_outermost_first_then_in_source_order(source):
    (assign,) = [
        n
        for n in nodes(named(source, "transforms"), ast.Assign)
        if ast.unparse(n.targets[0]) == "mapped"
    ]
    found = source.calls_within(sa.span_of(assign.value))
    assert found[0] is assign.value
    assert [ast.unparse(c.func) for c in found] == [
        "jax.vmap(partial(outer, scale=n), in_axes=(0,))",
        "jax.vmap",
        "partial",
    ]


def construct_kinds(tree: ast.AST) -> list[tuple[str, int]]:
    """(kind, line) of each construct, read off the tree: a comprehension counts its loop
    and each `if` clause."""
    kinds = {ast.If: "if", ast.While: "while", ast.IfExp: "ifexp", ast.Assert: "assert"}
    kinds |= {ast.For: "for", ast.Match: "match"}
    found = []
    for node in ast.walk(tree):
        if type(node) in kinds:
            found.append((kinds[type(node)], node.lineno))
        elif isinstance(node, sa.COMPREHENSIONS):
            found.append(("comprehension", node.lineno))
            found += [("if", test.lineno) for g in node.generators for test in g.ifs]
    return found


def test_every_construct_of_the_file_in_source_order(source):
    constructs = source.constructs
    assert sorted((c.kind, c.line) for c in constructs) == sorted(construct_kinds(source.tree))
    assert [(c.line, c.column) for c in constructs] == sorted(
        (c.line, c.column) for c in constructs
    )
    literal = {(c.kind, c.line): c.literal for c in constructs if c.kind == "while"}
    loops = nodes(source.tree, ast.While)
    assert [literal[("while", w.lineno)] for w in loops] == [
        True if isinstance(w.test, ast.Constant) else None for w in loops
    ]


def construct_at(source: sa.SourceFile, node: ast.AST) -> sa.Construct:
    return next(c for c in source.constructs if c.node is node)


def test_a_condition_over_several_lines_is_one_test_read_as_one_line(source):
    (test,) = [n for n in nodes(named(source, "outer"), ast.If)]
    construct = construct_at(source, test)
    assert construct.span[0] < construct.span[2]
    assert construct.label(sa.span_of(test.test)) == sa.TEST
    assert construct.label(sa.span_of(test.body[0])) == sa.BODY
    text = ast.get_source_segment(source.text, test.test)
    assert text is not None and "\n" in text
    assert source.segment(test.test) == " ".join(part.strip() for part in text.splitlines())


def test_a_construct_labels_a_range_by_where_it_lies(source):
    """A for-else: its iterable, target, body, else branch; the construct's own range is
    inside it but in no region; a range across its edge tells nothing."""
    (loop,) = nodes(named(source, "apply"), ast.For)
    construct = construct_at(source, loop)
    after = named(source, "apply").body[1]
    assert [
        construct.label(sa.span_of(part))
        for part in (loop.iter, loop.target, loop.body[0], loop.orelse[0], after)
    ] == [sa.ITER, sa.TARGET, sa.BODY, sa.ORELSE, sa.OUTSIDE]
    assert construct.label(construct.span) == sa.INSIDE
    across = (*construct.span[:2], *sa.span_of(after)[2:])
    assert construct.label(across) == sa.NEUTRAL
    assert construct.label(None) == sa.NEUTRAL


def test_a_match_numbers_its_cases_and_knows_an_irrefutable_last_one(source):
    (match,) = nodes(named(source, "matching"), ast.Match)
    construct = construct_at(source, match)
    assert construct.last_case_irrefutable
    first, second = match.cases[:2]
    assert construct.label(sa.span_of(first.guard)) == sa.HEAD
    assert construct.label(sa.span_of(second.body[0])) == sa.CASE_BODY + 1
    assert construct.label(sa.span_of(match.subject)) == sa.ITER
    assert [ast.unparse(c) for c in construct.conditions] == [
        "command",
        "direction in ('north', 'south')",
        "'go'",
    ]


def test_a_comprehension_filter_is_true_when_what_follows_it_runs(source):
    (comprehension,) = [
        c for c in nodes(named(source, "outer"), ast.ListComp) if ast.unparse(c.elt) == "square(x)"
    ]
    first, second = comprehension.generators[0].ifs
    construct = construct_at(source, first)
    assert construct.kind == "if"
    assert construct.label(sa.span_of(second)) == sa.BODY
    assert construct.label(sa.span_of(comprehension.elt)) == sa.BODY
    assert construct.label(sa.span_of(comprehension.generators[0].target)) == sa.ORELSE


def function_codes(source: sa.SourceFile) -> Iterator[tuple[ast.AST, CodeType]]:
    """(node, code) of every function and lambda of the file."""
    for code in compiled(source):
        node = source.scope_for_code(code)
        if isinstance(node, sa.FUNCTIONS):
            yield node, code


def comprehension_variables(source: sa.SourceFile, function: ast.AST) -> set[str]:
    """The names a function's comprehensions bind (Python 3.12+ compiles them as its locals)."""
    return {
        name.id
        for generator in ast.walk(function)
        if isinstance(generator, ast.comprehension)
        if source.function_of(generator) is function
        for name in ast.walk(generator.target)
        if isinstance(name, ast.Name)
    }


def test_bindings_and_parameters_are_the_locals_python_compiles(source):
    """Assignments, augmented ones, walrus, for and with targets, except and import names,
    match captures, nested defs; never a `nonlocal` name."""
    for node, code in function_codes(source):
        compiler = set(code.co_varnames) | set(code.co_cellvars)
        ours = set(source.bindings(node)) | set(sa.parameters(node))
        assert compiler - comprehension_variables(source, node) == ours, code.co_qualname


def test_free_variables_are_bound_where_python_binds_them(source):
    """Each free variable of a nested function, lambda or generator expression is a local or
    parameter of the enclosing function that Python keeps it in a cell for."""
    cells = {id(node): set(code.co_cellvars) for node, code in function_codes(source)}
    checked = 0
    for code in compiled(source):
        node = source.scope_for_code(code)
        for name in code.co_freevars:
            binder = source.enclosing_binder(node, name)
            assert binder is not None
            assert name in cells[id(binder)]
            checked += 1
    assert checked


def test_a_name_bound_in_branches_is_guarded_by_their_tests(source):
    function = named(source, "branchy")
    bindings = source.bindings(function)["dt0"]
    assert [[ast.unparse(t) for t in source.guards(b.owner)] for b in bindings] == [
        ["adaptive"],
        ["dt0 is None", "adaptive"],
    ]


def test_the_values_a_name_may_hold(source):
    outer, inner, cached = (named(source, n) for n in ("outer", "inner", "cached"))
    assert [type(v) for v in source.values_of(outer, "square")] == [ast.Lambda]
    assert source.values_of(outer, "xs") == []
    assert [ast.unparse(v) for v in source.values_of(inner, "total")] == ["0", "n"]
    assert [ast.unparse(v) for v in source.values_of(cached, "LIMIT")] == [repr(shapes.LIMIT)]


def test_methods_are_what_python_binds_an_instance_or_class_to(source):
    for name in ("__init__", "apply", "helper", "build", "__call__"):
        static = isinstance(inspect.getattr_static(shapes.Model, name), staticmethod)
        assert source.is_method(named(source, name)) is not static
        assert source.class_name(named(source, name)) == "Model"
    assert not source.is_method(named(source, "outer"))
    assert source.class_name(named(source, "outer")) is None


def test_parameters_and_defaults_as_inspect_sees_them(source):
    signature = inspect.signature(shapes.outer)
    outer = named(source, "outer")
    assert sa.parameters(outer) == list(signature.parameters)
    defaults = sa.parameter_defaults(outer)
    assert {name: ast.literal_eval(value) for name, value in defaults.items()} == {
        name: p.default for name, p in signature.parameters.items() if p.default is not p.empty
    }
    assert sa.parameters(source.tree) == []


def test_load_source_keeps_one_parse_while_the_text_is_the_same(source):
    assert sa.load_source(shapes.__file__) is source
    assert sa.load_source("<no such file>") is None
    broken = Path(__file__).parent / "user_modules" / "syntax_error.py"
    assert sa.load_source(str(broken)) is None


def test_what_each_part_of_a_loop_target_takes_its_values_from(source):
    loops = nodes(named(source, "handled"), ast.For)
    assert [
        [(ast.unparse(t), ast.unparse(v)) for t, v in sa.iteration_sources(loop.target, loop.iter)]
        for loop in loops
    ] == [[("i", "len(values)"), ("v", "values")], [("a", "values"), ("b", "values")]]


@pytest.mark.parametrize(
    ("iterable", "element"),
    [("(q, k)", "q or k"), ("[a]", "a"), ("(*xs, y)", "xs or y"), ("[]", "[]"), ("rows", "rows")],
)
def test_an_item_of_a_display_is_one_of_its_elements(iterable: str, element: str) -> None:
    parsed = ast.parse(iterable, mode="eval").body
    assert ast.unparse(sa.element_of(parsed)) == element


def test_comprehension_variables_come_from_their_iterables(source):
    outer = named(source, "outer")
    (lazily,) = nodes(outer, ast.GeneratorExp)
    reads = {ast.unparse(n.func): n.args[0] for n in nodes(lazily, ast.Call)}
    x_in_call = reads["inner"]
    assert ast.unparse(source.comprehension_binding(x_in_call, "x")) == "row"
    row_iterable = lazily.generators[1].iter
    assert ast.unparse(source.comprehension_binding(row_iterable, "row")) == "xs"
    outside = lazily.generators[0].iter.elts[0]
    assert source.comprehension_binding(outside, "xs") is None


def test_a_part_of_each_item_drawn_from_a_dicts_values(source):
    outer = named(source, "outer")
    (kinds,) = [c for c in nodes(outer, ast.ListComp) if ast.unparse(c.elt) == "kind"]
    iterable, position = source.comprehension_item(kinds.elt, "kind")
    assert (ast.unparse(iterable), position) == ("sites.values()", (0,))
    assert sa.dict_view(iterable) == ("values", "sites")
    assert sa.only_read(source, outer, "sites")
    assert not sa.only_read(source, outer, "xs")  # passed to zip, which might keep it


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "x.shape[0] + len(ys) + z.ndim + w.dtype",
            [("x", "shape"), ("ys", "len"), ("z", "ndim"), ("w", "dtype")],
        ),
        ("jnp.shape(a) + jnp.ndim(b)", [("a", "shape"), ("b", "ndim")]),
        ("len((a, *bs))", [("bs", "len")]),
        ("len([f(x) for x in xs if x > t])", [("xs", "len"), ("x", None), ("t", None)]),
        ("(lambda p: p + q)(r)", [("q", None), ("r", None)]),
        ("n if (m := k) else 0", [("k", None), ("n", None)]),
    ],
)
def test_reads_name_each_name_with_the_aspect_read(expression: str, expected: list) -> None:
    found = sa.reads(ast.parse(expression, mode="eval").body)
    assert [(r.name, r.via) for r in found] == expected


def test_reads_keep_attribute_paths_calls_and_constant_subscripts() -> None:
    found = sa.reads(ast.parse("model.apply(self.config.act, carry[1][0])", mode="eval").body)
    assert [(r.name, r.path, r.called, r.index) for r in found] == [
        ("model", ("apply",), True, ()),
        ("self", ("config", "act"), False, ()),
        ("carry", (), False, (1, 0)),
    ]


@pytest.mark.parametrize(
    ("expression", "index", "item", "left"),
    [
        ("(h, reps)", (1,), "reps", ()),
        ("(h, (a, b))", (1, 0), "a", ()),
        ("(h, reps)", (1, 0), "reps", (0,)),
        ("(h, *rest)", (1,), "(h, *rest)", (1,)),
        ("(h, reps)", (2,), "(h, reps)", (2,)),
    ],
)
def test_select_picks_the_item_constant_subscripts_name(expression, index, item, left) -> None:
    found, rest = sa.select(ast.parse(expression, mode="eval").body, index)
    assert (ast.unparse(found), rest) == (item, left)


def call_in(function: ast.AST, text: str) -> ast.Call:
    return next(c for c in nodes(function, ast.Call) if ast.unparse(c).startswith(text))


def test_bind_call_maps_arguments_as_python_binds_them(source):
    transforms = named(source, "transforms")
    call = call_in(transforms, "outer(xs, 3.0")
    bound, complete = sa.bind_call(source, call, named(source, "outer"))
    assert complete
    python = inspect.signature(shapes.outer).bind("xs", 3.0, 4, flag=True, extra=1).arguments
    assert {name: ast.unparse(value) for name, value in bound.items()} == {
        name: value if isinstance(value, str) else repr(value)
        for name, value in python.items()
        if name in ("xs", "scale", "flag")
    }
    spread = ast.parse("outer(*args)", mode="eval").body
    assert sa.bind_call(source, spread, named(source, "outer"))[1] is False


def test_a_methods_first_parameter_is_what_the_call_binds_it_to(source):
    transforms = named(source, "transforms")
    called = sa.bind_call(source, call_in(transforms, "model(n)"), named(source, "__call__"))
    assert {k: ast.unparse(v) for k, v in called[0].items()} == {"self": "model", "x": "n"}
    built = sa.bind_call(source, call_in(transforms, "Model.build"), named(source, "build"))
    assert {k: ast.unparse(v) for k, v in built[0].items()} == {"cls": "Model", "depth": "3"}


def test_calls_through_jax_reach_the_function_they_call(source):
    """`jax.vmap(partial(outer, scale=n))(xs)` calls outer(xs, scale=n); `lax.scan(body,
    (params, n), xs)` calls body with the carry and the rows; `step = jax.jit(f)` then
    `step(mapped)` calls f(mapped)."""
    transforms = named(source, "transforms")

    def values_of(name: str) -> list[ast.expr]:
        return source.values_of(transforms, name)

    def bound(text: str, function: str) -> dict[str, str]:
        found = sa.bind_invocation(
            source, call_in(transforms, text), named(source, function), values_of
        )
        assert found is not None
        return {k: ast.unparse(v) for k, v in found[0].items() if v is not None}

    assert bound("jax.vmap(partial(outer", "outer") == {"xs": "xs", "scale": "n"}
    assert bound("lax.scan", "body") == {"carry": "(params, n)", "x": "xs"}
    assert bound("step(mapped)", "helper") == {"x": "mapped"}
    scan = call_in(transforms, "lax.scan")
    mapping = sa.bind_invocation(source, scan, named(source, "body"), values_of)
    assert mapping is not None
    assert sa.carried_parameters(scan, mapping[0]) == {"carry": "scan"}
    assert sa.bind_invocation(source, scan, named(source, "outer"), values_of) is None


def test_bare_statements_keep_the_range_of_an_instruction(source):
    """`pass`, `break` and `continue` may compile to no more than a jump: that instruction
    carries their range, which shows the branch holding them ran."""
    ranges = {span for code in compiled(source) for span in sa.code_spans(code)}
    bare = [n for n in ast.walk(source.tree) if isinstance(n, (ast.Pass, ast.Break, ast.Continue))]
    assert {sa.span_of(n) for n in bare} == set(source.bare_statements)
    assert set(source.bare_statements) <= ranges


def test_return_instructions_inside_a_return_statement_and_implicit_ones(source):
    for name, explicit in (("helper", True), ("__init__", False)):
        code = getattr(shapes.Model, name).__code__
        returns = [
            span(instruction)
            for instruction in dis.get_instructions(code)
            if instruction.opname.startswith("RETURN") and span(instruction) is not None
        ]
        assert returns
        assert {source.in_return_statement(p) for p in returns} == {explicit}


def test_ranges_contain_and_are_disjoint_as_their_characters_are() -> None:
    assert sa.contains((1, 0, 3, 5), (2, 4, 3, 5))
    assert not sa.contains((2, 4, 3, 5), (1, 0, 3, 5))
    assert sa.disjoint((1, 0, 1, 4), (1, 4, 1, 9))
    assert not sa.disjoint((1, 0, 1, 5), (1, 4, 1, 9))
    statements = ast.parse("a = 1\nb = (\n  2)").body
    assert sa.block_span(statements) == (1, 0, 3, 4)
    assert sa.block_span([]) is None
