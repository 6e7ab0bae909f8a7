"""Turns the recorded runs into decisions: the outcomes of every construct that ran, with what
its condition depends on, and the same for the tests of library code on the root's statics."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Sequence
from types import CodeType
from typing import Any

from jaxexplain import _source_ast as sa
from jaxexplain import userfiles
from jaxexplain.decisions.bytecode import CodeFacts, outcomes_of
from jaxexplain.decisions.frames import Activation
from jaxexplain.decisions.library_watch import LIBRARY_KINDS
from jaxexplain.decisions.resolve import OverBudget, Resolver, Scope, library_resolver
from jaxexplain.report import Decision, Dependency, LibraryDecision

CONSTANT = Dependency("<constant>", "constant")


class Analysis:
    """Turns the recorded activations into decisions and executed lines, and tells the
    listings which functions made decisions."""

    def __init__(
        self,
        activations: list[Activation],
        root_code: CodeType | None,
        roles: dict[str, str],
        namespaces: dict[int, dict[str, Any]],
        library_activations: Sequence[Activation] = (),
    ) -> None:
        self._activations = activations
        self._library_activations = library_activations
        self.root_code = root_code
        self._roles = roles
        self._namespaces = namespaces
        self._facts: dict[int, CodeFacts | None] = {}
        self._scopes: dict[int, Scope | None] = {}
        self._shared_scopes: dict[tuple[Any, ...], Scope] = {}
        self.resolver = Resolver(roles)
        self._library_resolver = library_resolver(roles)
        self._decisions: tuple[Decision, ...] | None = None
        self._decision_functions: list[tuple[sa.SourceFile, ast.AST]] = []

    def facts(self, code: CodeType) -> CodeFacts | None:
        """What the code object's instructions mean; None when its source is unavailable."""
        key = id(code)
        if key not in self._facts:
            source = sa.load_source(code.co_filename, self._namespaces.get(key))
            scope = source.scope_for_code(code) if source is not None else None
            self._facts[key] = CodeFacts(code, source, scope) if source and scope else None
        return self._facts[key]

    def decisions(self) -> tuple[Decision, ...]:
        if self._decisions is None:
            self._decisions = self._collect_decisions()
        return self._decisions

    def _collect_decisions(self) -> tuple[Decision, ...]:
        outcomes: dict[sa.Construct, list[str | int]] = {}
        scopes: dict[sa.Construct, dict[int, Scope]] = {}
        sources: dict[sa.Construct, sa.SourceFile] = {}
        for activation in self._activations:
            facts = self.facts(activation.code)
            if facts is None or not facts.constructs:
                continue
            evidence = [e for e in activation.events if e >= 0 and e not in facts.neutral]
            for construct in facts.constructs:
                found = outcomes_of(construct, facts, activation, evidence)
                if not found:
                    continue
                outcomes.setdefault(construct, []).extend(found)
                scope = self.scope(activation)
                if scope is not None:
                    scopes.setdefault(construct, {})[id(scope)] = scope
                sources[construct] = facts.source
        records = [
            self._decision(c, sources[c], found, scopes.get(c, {}).values())
            for c, found in outcomes.items()
        ]
        self._decision_functions = list({(sources[c], c.function): None for c in outcomes})
        return tuple(sorted(records, key=lambda d: (d.file, d.line, d.column)))

    def library_decisions(self) -> tuple[LibraryDecision, ...]:
        """The library tests that depend on a static of the root, one per static and
        construct, with every outcome and how often the test ran."""
        found: dict[tuple[str, sa.Construct], list[str | int]] = {}
        sources: dict[sa.Construct, sa.SourceFile] = {}
        for activation in self._library_activations:
            facts = self.facts(activation.code)
            scope = self.scope(activation)
            if facts is None or scope is None:
                continue
            evidence = [e for e in activation.events if e >= 0 and e not in facts.neutral]
            for construct in facts.constructs:
                if construct.kind not in LIBRARY_KINDS:
                    continue
                outcomes = outcomes_of(construct, facts, activation, evidence)
                statics = self._library_statics(construct, scope) if outcomes else ()
                for static in statics:
                    found.setdefault((static, construct), []).extend(outcomes)
                    sources[construct] = facts.source
        records = [
            _library_decision(static, construct, sources[construct], outcomes)
            for (static, construct), outcomes in found.items()
        ]
        return tuple(sorted(records, key=lambda d: (d.static, d.file, d.line, d.column)))

    def _library_statics(self, construct: sa.Construct, scope: Scope) -> tuple[str, ...]:
        """The root's statics a library test depends on; none once the trace's resolution
        budget is spent: the test is left out, never reported with a part of its
        dependencies."""
        try:
            found = self._library_resolver.dependencies(construct, scope)
        except OverBudget:
            return ()
        return tuple(dict.fromkeys(d.name for d in found if d.via == "static"))

    def _decision(
        self,
        construct: sa.Construct,
        source: sa.SourceFile,
        outcomes: list[str | int],
        scopes: Iterable[Scope],
    ) -> Decision:
        dependencies: dict[Dependency, None] = {}
        for scope in scopes:
            dependencies.update(dict.fromkeys(self.resolver.dependencies(construct, scope)))
        return Decision(
            file=source.path,
            line=construct.line,
            kind=construct.kind,  # type: ignore[arg-type]
            source=_construct_source(source, construct),
            outcomes=tuple(outcomes),
            depends_on=tuple(dependencies) or (CONSTANT,),
            function=source.qualname(construct.function),
            column=construct.column,
            end_line=getattr(construct.node, "end_lineno", None) or construct.line,
        )

    def scope(self, activation: Activation) -> Scope | None:
        """The scope an activation ran in; activations from the same call site share one."""
        key = id(activation)
        if key not in self._scopes:
            self._scopes[key] = self._build_scope(activation)
        return self._scopes[key]

    def _build_scope(self, activation: Activation) -> Scope | None:
        facts = self.facts(activation.code)
        if facts is None:
            return None
        parent = self.scope(activation.parent) if activation.parent is not None else None
        function = facts.scope
        if not isinstance(function, (*sa.FUNCTIONS, ast.Module)):
            function = facts.source.function_of(function)
            if parent is not None and parent.function is function:
                return parent
        shared_key = (id(activation.code), activation.call_offset, activation.direct, id(parent))
        if shared_key not in self._shared_scopes:
            is_root = activation.code is self.root_code
            namespace = self._namespaces.get(id(activation.code), {})
            scope = Scope(facts.source, function, is_root, namespace, parent)
            if not is_root:
                self._bind_arguments(scope, activation)
            if activation.library:
                self._place_in_user_call(scope, activation)
            if activation.provenance:
                scope.provenance = activation.provenance
                scope.call_names = self._call_names(activation)
            self._shared_scopes[shared_key] = scope
        return self._shared_scopes[shared_key]

    def _bind_arguments(self, scope: Scope, activation: Activation) -> None:
        """Maps a helper's parameters to the argument expressions of the call that reached it:
        one that names it (directly, through a wrapper, a transformation such as
        `jax.vmap(f)(a)` or `lax.scan(f, init, xs)`, or a local such as
        `fn = jax.checkpoint(f)`), the running call or one inside the running instruction's
        range (a generator's creation in the loop that resumes it), or failing those a call
        that called it directly."""
        caller, caller_scope = activation.parent, scope.parent
        if caller is None or caller_scope is None or activation.call_offset is None:
            return
        caller_facts = self.facts(caller.code)
        position = caller_facts.position_at(activation.call_offset) if caller_facts else None
        if position is None:
            return
        source, function = caller_scope.source, caller_scope.function
        values_of = functools.partial(source.values_of, function)
        running = source.calls.get(position)
        for call in source.calls_within(position):
            bound = sa.bind_invocation(scope.source, call, scope.function, values_of)
            if bound is not None:
                scope.carried = sa.carried_parameters(call, bound[0])
                break
        else:
            bound = None
            if running is not None and activation.direct:
                bound = sa.bind_call(scope.source, running, scope.function)
        if bound is not None:
            scope.arguments, scope.complete = bound

    def _place_in_user_call(self, scope: Scope, activation: Activation) -> None:
        """Links a library frame's scope to the user's scope above it and the call it was
        running there (`nn.Dropout(0.1, deterministic=not train)(h)`)."""
        scope.library = True
        user = activation.user
        facts = self.facts(user.code) if user is not None else None
        if user is None or facts is None:
            return
        scope.user_scope = self.scope(user)
        position = facts.position_at(activation.user_offset)
        scope.user_call = facts.source.calls.get(position) if position is not None else None

    def _call_names(self, activation: Activation) -> frozenset[str]:
        """The names read by the user's call that was running when library code called this
        helper (`model.apply(params, x, train=train)`)."""
        caller = activation.parent
        facts = self.facts(caller.code) if caller is not None else None
        if facts is None or activation.call_offset is None:
            return frozenset()
        position = facts.position_at(activation.call_offset)
        calls = facts.source.calls_within(position) if position is not None else []
        return frozenset(n.id for c in calls for n in ast.walk(c) if isinstance(n, ast.Name))

    def executed_lines(self) -> dict[str, set[int]]:
        lines: dict[str, set[int]] = {}
        for activation in self._activations:
            ran = lines.setdefault(activation.code.co_filename, set())
            ran.update(-e for e in activation.events if e < 0)
        return lines

    def decision_functions(self) -> list[tuple[sa.SourceFile, ast.AST]]:
        """The functions holding a construct that decided something, each once."""
        self.decisions()
        return self._decision_functions

    def codes_run(self) -> list[CodeType]:
        """Every code object that ran inside the root's call, each once."""
        return list({id(a.code): a.code for a in self._activations}.values())


def _construct_source(source: sa.SourceFile, construct: sa.Construct) -> str:
    """The condition text: the test, `target in iterable` for loops, the match subject."""
    node: Any = construct.node
    if construct.kind == "for" or construct.kind == "comprehension":
        loop = node if construct.kind == "for" else node.generators[0]
        return f"{source.segment(loop.target)} in {source.segment(loop.iter)}"
    return source.segment(construct.conditions[0])


def _library_decision(
    static: str, construct: sa.Construct, source: sa.SourceFile, outcomes: list[str | int]
) -> LibraryDecision:
    """One library test on one static: its distinct outcomes in the order first seen."""
    path = userfiles.library_path(source.path) or source.path
    return LibraryDecision(
        static=static,
        file=path,
        line=construct.line,
        kind=construct.kind,  # type: ignore[arg-type]
        source=_construct_source(source, construct),
        outcomes=tuple(dict.fromkeys(outcomes)),
        count=len(outcomes),
        function=source.qualname(construct.function),
        column=construct.column,
    )
