"""Which files are the user's code: everything outside the standard library, installed
packages, JAX itself and jaxexplain."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import linecache
import os
import re
import site
import sysconfig
from collections.abc import Iterator
from pathlib import Path

_JAXEXPLAIN_DIR = str(Path(__file__).resolve().parent)


# Files of the functions being explained: a library function given as the target
# (`optax:global_norm`) is the user's code for its own report, else every line reads dead.
_TARGET_FILES: set[str] = set()


@contextlib.contextmanager
def counted_as_user_code(filename: str) -> Iterator[None]:
    """While explaining a target, its own file is user code, wherever it is installed."""
    added = filename not in _TARGET_FILES
    _TARGET_FILES.add(filename)
    is_user_file.cache_clear()
    try:
        yield
    finally:
        if added:
            _TARGET_FILES.discard(filename)
        is_user_file.cache_clear()


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user_site, str):
        roots.add(user_site)
    for package in ("jax", "jaxlib"):
        spec = importlib.util.find_spec(package)
        roots.update(spec.submodule_search_locations or [] if spec is not None else [])
    return tuple(sorted(os.path.realpath(r) for r in roots))


@functools.cache
def is_user_file(filename: str) -> bool:
    """True for the user's own source files (cached: asked once per file during tracing).

    Args:
        filename: a code object's `co_filename`.

    Returns:
        False for the standard library, site-packages, jax/jaxlib, jaxexplain's own package,
        and `<...>` pseudo-files except those whose source linecache holds (notebook cells),
        never generated code such as dataclass methods.
    """
    if not filename:
        return False
    if filename in _TARGET_FILES:
        return True
    if filename.startswith("<"):
        return filename in linecache.cache and not filename.startswith("<frozen")
    real = os.path.realpath(filename)
    if real.startswith(_JAXEXPLAIN_DIR + os.sep):
        return False
    parts = Path(real).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(real.startswith(root + os.sep) for root in _library_roots())


@functools.cache
def is_jaxexplain_file(filename: str) -> bool:
    """True for jaxexplain's own files: frames above them on a trace's stack called the trace
    (cached: asked for every frame of every equation)."""
    return os.path.realpath(filename).startswith(_JAXEXPLAIN_DIR + os.sep)


# Installed packages that are JAX itself: its frames are the machinery under every library.
_JAX_PACKAGES = frozenset({"jax", "jaxlib", "jax_plugins"})


@functools.cache
def library_path(filename: str) -> str | None:
    """An installed library's file relative to the site-packages it is installed in
    (`optax/_src/transform.py`), as a user reads it in tracebacks and documentation.

    Returns:
        None outside site-packages (the user's code, the standard library) and for JAX itself.
    """
    parts = Path(os.path.realpath(filename)).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            inside = parts[len(parts) - parts[::-1].index(marker) :]
            if inside and inside[0] not in _JAX_PACKAGES:
                return "/".join(inside)
    return None


@functools.cache
def is_jax_file(filename: str) -> bool:
    """A file of JAX itself (an installed `jax` or `jaxlib`): its jitted functions, such as
    `jnp.sqrt`, are JAX's own operations, not functions the user jitted."""
    parts = Path(os.path.realpath(filename)).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            inside = parts[len(parts) - parts[::-1].index(marker) :]
            return bool(inside) and inside[0] in _JAX_PACKAGES
    return False


def library_name(path: str) -> str:
    """The top-level package of a `library_path` (`optax/_src/transform.py` -> `optax`)."""
    first = path.split("/", 1)[0]
    return first.removesuffix(".py")


def library_label(where: str) -> str:
    """A library frame's `file:line` as the user knows the file (`optax/_src/transform.py:294`);
    a file outside site-packages as `short_path` shows it."""
    file, _, line = where.rpartition(":")
    path = library_path(file)
    return f"{path}:{line}" if path is not None else short_path(where)


def short_path(path: str) -> str:
    """A path (or `file:line`) relative to the current directory when it lies under it."""
    file, sep, line = path.rpartition(":")
    if not sep or not line.isdigit():
        file, line = path, ""
    file = _relative_to(file, os.getcwd())
    return f"{file}:{line}" if line else file


def short_identity(identity: str) -> str:
    """A cache key's function component (`mod.fn @ /abs/file.py:10 ...`) with the file made
    relative to the current directory, as every other path in a report is shown."""
    name, sep, rest = identity.partition(" @ ")
    located = re.match(r"(.+?:\d+)(.*)$", rest, re.DOTALL)
    if not sep or not located:
        return identity
    return f"{name} @ {short_path(located[1])}{located[2]}"


@functools.lru_cache(maxsize=1024)
def _relative_to(file: str, directory: str) -> str:
    """`file` relative to `directory` when it lies under it (cached: a jaxpr names few files
    thousands of times)."""
    with contextlib.suppress(ValueError):
        rel = os.path.relpath(file, directory)
        if not rel.startswith(".."):
            return rel
    return file
