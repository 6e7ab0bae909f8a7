"""Resolves a TARGET (`pkg.mod:fn`, `pkg.mod:Class.method`, `path/to/file.py:fn`) to a callable.

Errors raised while importing the user's module are wrapped into `UserCodeError` pointing at
the user's own line, never at importlib's frames.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from jaxexplain.errors import TargetNotFound, UsageError, UserCodeError
from jaxexplain.exits import UserExit
from jaxexplain.inputs.caller import Vocabulary
from jaxexplain.userfiles import is_user_file


@dataclass(frozen=True)
class LoadedTarget:
    """The object a TARGET names, as the user wrote it (possibly `jax.jit`-wrapped)."""

    spec: str
    obj: Callable[..., Any]
    module: ModuleType


def split_target(spec: str) -> tuple[str, str]:
    """Splits `MODULE_OR_FILE:ATTR.PATH`, with a usage error showing the accepted forms."""
    module_part, sep, attr_part = spec.rpartition(":")
    if not sep or not module_part or not attr_part:
        raise UsageError(
            f"target {spec!r} must look like package.module:function, "
            f"package.module:Class.method or path/to/file.py:function"
        )
    return module_part, attr_part


def load_target(spec: str) -> LoadedTarget:
    """Imports the module of `spec` and returns the object it names.

    Args:
        spec: `pkg.mod:fn`, `pkg.mod:Class.method` or `path/to/file.py:fn`.

    Returns:
        The loaded target; `Class.method` of a plain method is bound to `Class()`.
    """
    module_part, attr_part = split_target(spec)
    module = _import_module(module_part)
    obj = _resolve_attribute(module, module_part, attr_part)
    if not callable(obj):
        raise UsageError(
            f"{attr_part!r} in {module_part} is a {type(obj).__name__}, not a function"
        )
    if inspect.isclass(obj):
        raise UsageError(_class_target_message(obj, spec))
    return LoadedTarget(spec, obj, module)


def _class_target_message(cls: type, spec: str) -> str:
    """A class is no function to trace: jit of a class traces its construction. Name a method
    (or, for an object that needs arguments, a --target-from factory that builds it)."""
    methods = [
        name
        for name, raw in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(raw) or isinstance(raw, staticmethod))
    ] + (["__call__"] if "__call__" in vars(cls) else [])
    shown = ", ".join(f"{spec}.{m}" for m in methods[:4]) or f"{spec}.METHOD"
    return (
        f"{spec} is a class, not a function: name one of its methods ({shown}), or give a "
        f"--target-from factory that builds the object and returns its bound method"
    )


def _import_module(module_part: str) -> ModuleType:
    """Imports a dotted module or a `.py` file, with the current directory importable."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        return _import_file(Path(module_part))
    try:
        already = _module_of_file(_origin_of(module_part))
        return already if already is not None else importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        if exc.name and (module_part == exc.name or module_part.startswith(exc.name + ".")):
            raise TargetNotFound(
                f"cannot find module {module_part!r} (looked in the current directory "
                f"{cwd} and the installed packages); check the spelling, or give a file path "
                f"such as path/to/file.py:function"
            ) from exc
        raise user_code_error(exc, f"importing {module_part}") from exc
    except Exception as exc:
        raise user_code_error(exc, f"importing {module_part}") from exc


def _import_file(path: Path) -> ModuleType:
    """Imports a file under its stem, its folder importable so that sibling imports work."""
    if not path.is_file():
        raise TargetNotFound(f"no such file: {path}")
    already = _module_of_file(path)
    if already is not None:
        return already
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    dotted = _package_module_name(path)
    if dotted is not None:
        module = _import_module(dotted)
        if Path(getattr(module, "__file__", "") or "").resolve() == path.resolve():
            return module
    name = path.stem if path.stem.isidentifier() else "jaxexplain_target"
    module_spec = importlib.util.spec_from_file_location(name, path.resolve())
    if module_spec is None or module_spec.loader is None:
        raise TargetNotFound(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise user_code_error(exc, f"importing {path}") from exc
    return module


def _module_of_file(path: Path | None) -> ModuleType | None:
    """The module already imported from `path`, under whatever name.

    A target and its `--args-from` factory in one file must see one module: executed twice,
    the file would define every class twice, and a NamedTuple or an equinox Module that the
    factory built would fail the target's `isinstance` checks and pytree-structure matches.
    The same holds for `pkg.mod` and `path/pkg/mod.py`, two spellings of one file."""
    if path is None:
        return None
    resolved = path.resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and file.endswith(resolved.name) and Path(file).resolve() == resolved:
            return module
    return None


def _origin_of(dotted: str) -> Path | None:
    """The file a dotted module name would be imported from, without executing it (its parent
    packages are imported, as `import` would); None where it cannot be found."""
    try:
        spec = importlib.util.find_spec(dotted)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _package_module_name(path: Path) -> str | None:
    """`pkg/sub/mod.py` inside packages (`__init__.py` up to `pkg`) imports as `pkg.sub.mod`.

    Imported under its stem, a module of a package could not use relative imports
    (`from .layers import dense`); the folder above the top package becomes importable. A
    `pkg` of that name already imported from elsewhere yields another file: then the stem.
    """
    resolved = path.resolve()
    parts = [resolved.stem]
    folder = resolved.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) == 1 or not resolved.stem.isidentifier():
        return None
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return ".".join(parts)


def _resolve_attribute(module: ModuleType, module_part: str, attr_part: str) -> Any:
    """Follows `Class.method` paths; binds plain methods to an instance made with no arguments."""
    obj: Any = module
    owner: Any = None
    for i, name in enumerate(attr_part.split(".")):
        if not hasattr(obj, name):
            where = module_part if i == 0 else ".".join(attr_part.split(".")[:i])
            raise TargetNotFound(
                f"{where} has no attribute {name!r}"
                + _did_you_mean(name, [n for n in dir(obj) if not n.startswith("_")])
            )
        owner, obj = obj, getattr(obj, name)
    if inspect.isclass(owner) and _needs_instance(owner, attr_part.split(".")[-1]):
        obj = getattr(_instantiate(owner, attr_part), attr_part.split(".")[-1])
    return obj


def _needs_instance(cls: type, name: str) -> bool:
    """A plain function defined in a class needs `self`; static and class methods do not."""
    raw = inspect.getattr_static(cls, name)
    return not isinstance(raw, (staticmethod, classmethod)) and inspect.isfunction(raw)


def _instantiate(cls: type, attr_part: str) -> Any:
    try:
        return cls()
    except TypeError as exc:
        raise UsageError(
            f"{attr_part} is a method, and {cls.__name__}() cannot be created without "
            f"arguments ({exc}); expose a module-level function that builds the object "
            f"and calls the method, and give that as the target"
        ) from exc
    except Exception as exc:
        raise user_code_error(exc, f"creating {cls.__name__}()") from exc


def _did_you_mean(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


def user_frame(exc: BaseException) -> str | None:
    """The deepest traceback frame in the user's code, as `file:line`."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


def user_code_error(exc: BaseException, doing: str, exit_code: int = 2) -> UserCodeError:
    """Wraps an exception raised by the user's own code, naming their line."""
    where = user_frame(exc)
    line_text = ""
    if where:
        file, _, line = where.rpartition(":")
        import linecache

        line_text = linecache.getline(file, int(line)).strip()
    location = f" at {where}" + (f" ({line_text})" if line_text else "") if where else ""
    return UserCodeError(f"the user's code {_what_it_did(exc, doing + location)}", where, exit_code)


def _what_it_did(exc: BaseException, where: str) -> str:
    """ "raised ValueError while ...: message", or the exit it asked for, as the user wrote it."""
    if isinstance(exc, UserExit):
        return f"called os._exit({exc.status}) while {where}"
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) while {where}"
    return f"raised {type(exc).__name__} while {where}: {exc}"


def load_factory(spec: str) -> Callable[[], Any]:
    """Resolves `--args-from MOD:FACTORY` with the same rules as a target."""
    return load_target(spec).obj


def one_target(spec: str | None, target_from: str | None, vocabulary: Vocabulary) -> None:
    """Exactly one of TARGET and `--target-from` names the function: checked before anything
    is imported, so that the mistake costs no import of the user's code or of JAX."""
    if spec and target_from:
        raise UsageError(
            f"give {vocabulary.target_form} or {vocabulary.target_from(target_from)}, not both: "
            f"the function the factory returns is the one explained"
        )
    if not spec and not target_from:
        raise UsageError(
            f"name the function to explain: {vocabulary.target_form} (package.module:function "
            f"or path/file.py:function), or {vocabulary.target_from()} for a function that a "
            f"factory of yours returns (a closure, a partial, a function jitted inside it)"
        )


def arguments_from(spec: str, shown: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """FACTORY() returns keyword arguments, or an `(args, kwargs)` pair; `shown` is the option
    as the caller gave it (`--args-from MOD:FACTORY`, `vs_from="MOD:FACTORY"`)."""
    result = call_user(load_factory(spec), f"calling the factory {shown}")
    if isinstance(result, Mapping):
        return (), dict(result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        return tuple(result[0]), dict(result[1])
    raise UsageError(
        f"{shown} returned a {type(result).__name__}; it must return a dict of keyword "
        f"arguments or an (args, kwargs) pair"
    )


def function_from(
    spec: str, vocabulary: Vocabulary
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """FACTORY() returns the function to explain, `(function, kwargs)` or `(function, args,
    kwargs)`: a closure over a config, a `functools.partial`, a function jitted inside it."""
    shown = vocabulary.target_from(spec)
    factory = load_factory(spec)
    _refuse_parameters(factory, shown)
    result = call_user(factory, f"calling the factory {shown}")
    if callable(result) and not isinstance(result, tuple):
        return result, (), {}
    if isinstance(result, tuple) and result and callable(result[0]):
        rest = result[1:]
        if len(rest) == 1 and isinstance(rest[0], Mapping):
            return result[0], (), dict(rest[0])
        if len(rest) == 2 and isinstance(rest[0], (tuple, list)) and isinstance(rest[1], Mapping):
            return result[0], tuple(rest[0]), dict(rest[1])
    raise UsageError(
        f"{shown} returned {_described(result)}; it must return the function to explain, "
        f"(function, kwargs) or (function, args, kwargs)"
    )


def _refuse_parameters(factory: Callable[..., Any], shown: str) -> None:
    """The factory is called with no arguments: one that needs some (`make_train(config)`)
    is named with what it needs, before it runs."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return
    needed = [
        p.name
        for p in parameters
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if needed:
        name = getattr(factory, "__name__", "the factory")
        raise UsageError(
            f"{shown}: {name} needs {', '.join(needed)}, and a factory is called with no "
            f"arguments; name a function of yours that takes none and returns the function "
            f"to explain (one that calls {name}(...) with your values)"
        )


def _described(value: Any) -> str:
    """`a tuple (dict, int)`, `a int`: what a factory returned instead."""
    if isinstance(value, tuple):
        return f"a tuple ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__name__}"


def call_user(fn: Callable[[], Any], doing: str) -> Any:
    """Calls user code outside tracing (a factory), wrapping what it raises or an exit it asks
    for (exit 1: the user's code failed while jaxexplain ran it)."""
    try:
        return fn()
    except (Exception, SystemExit) as exc:
        raise user_code_error(exc, doing, exit_code=1) from exc
