"""Where the objects a helper received came from, by identity, among its calling frame's locals:
how a helper that library code called (haiku's `apply`, flax's module machinery) is followed
back to the user's names."""

from __future__ import annotations

import functools
import inspect
import itertools
from collections import deque
from collections.abc import Iterator
from types import BuiltinFunctionType, FrameType, FunctionType, MethodType, ModuleType
from typing import Any

# What a helper called from library code received: each of its arguments, and each attribute
# or item path inside one ("self.config"), mapped to the paths of the calling user frame's
# locals that held the very same object ("model.config"), and whether the object is a small
# value (a bool, number, string, None) that Python shares between unrelated uses, so that
# identity alone does not say where it came from.
Provenance = dict[str, tuple[tuple[tuple[str, ...], ...], bool]]
_PROVENANCE_DEPTH = 3  # attribute or item steps below a local or an argument
_PROVENANCE_NODES = 256  # objects visited per local or argument, so that a model's tree stays cheap
_PROVENANCE_ITEMS = 32  # items or attributes visited per container
_SHARED_TYPES = (bool, int, float, complex, str, bytes, type(None))
_CODE_TYPES = (type, ModuleType, FunctionType, MethodType, BuiltinFunctionType, functools.partial)
# Arrays and tracers are the traced data, never the static a decision reads; holding a
# tracer past its trace would also leak it.
_DATA_PACKAGES = frozenset({"jax", "jaxlib", "numpy", "ml_dtypes"})


def provenance(frame: FrameType, caller: FrameType) -> Provenance:
    """Where the objects a helper received came from among its caller's locals, by identity:
    the library in between (haiku's `apply`, flax's module machinery, `nn.scan`) hands them on
    as they are, or builds new containers around the same objects (a module's clone keeps the
    field values it was built with)."""
    held: dict[int, list[tuple[str, ...]]] = {}
    for name, value in dict(caller.f_locals).items():
        for path, item in _reachable(name, value):
            held.setdefault(id(item), []).append(path)
    found: Provenance = {}
    for name, value in _arguments(frame).items():
        for path, item in _reachable(name, value):
            paths = held.get(id(item))
            if paths:
                found["".join(path)] = (tuple(paths), isinstance(item, _SHARED_TYPES))
    return found


def _arguments(frame: FrameType) -> dict[str, Any]:
    """The arguments a frame was called with, read when it starts."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    values = frame.f_locals
    return {name: values[name] for name in code.co_varnames[:count] if name in values}


def _reachable(name: str, value: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, object) for a value and the objects it holds, breadth first and bounded."""
    queue: deque[tuple[tuple[str, ...], Any]] = deque([((name,), value)])
    visited: set[int] = set()
    while queue and len(visited) < _PROVENANCE_NODES:
        path, item = queue.popleft()
        if id(item) in visited or type(item).__module__.partition(".")[0] in _DATA_PACKAGES:
            continue
        visited.add(id(item))
        yield path, item
        if len(path) <= _PROVENANCE_DEPTH:
            queue.extend(((*path, step), child) for step, child in _children(item))


def _children(item: Any) -> list[tuple[str, Any]]:
    """The items of a container and the public attributes of a plain object, each with the
    step that reaches it (`[0]`, `['w']`, `.act`); read without running any user code."""
    if isinstance(item, (*_SHARED_TYPES, *_CODE_TYPES)):
        return []
    if isinstance(item, dict):
        pairs = itertools.islice(item.items(), _PROVENANCE_ITEMS)
        return [(f"[{key!r}]", child) for key, child in pairs]
    if isinstance(item, (tuple, list)):
        fields = getattr(type(item), "_fields", None)
        steps = [f".{f}" for f in fields] if fields else [f"[{i}]" for i in range(len(item))]
        return list(zip(steps[:_PROVENANCE_ITEMS], item, strict=False))
    try:
        attributes = object.__getattribute__(item, "__dict__")
    except AttributeError:
        return []
    if not isinstance(attributes, dict):
        return []
    public = ((k, v) for k, v in attributes.items() if isinstance(k, str) and not k.startswith("_"))
    return [(f".{key}", child) for key, child in itertools.islice(public, _PROVENANCE_ITEMS)]
