"""Where a trace failed: the user's frames in the traceback, read as source, and the library line
below them that needed the value."""

from __future__ import annotations

import ast
import dataclasses
import linecache
import os
import sys
import types
from dataclasses import dataclass
from typing import Any

from jaxexplain import _jax_compat
from jaxexplain.explain import constructs
from jaxexplain.explain.constructs import Construct, Position, UserFunction
from jaxexplain.explain.kinds import failure_kind
from jaxexplain.report import ErrorInfo
from jaxexplain.tracing.stages import Target
from jaxexplain.userfiles import is_user_file


@dataclass(frozen=True)
class UserFrame:
    """One traceback frame in the user's code, with the position of the running instruction."""

    frame: types.FrameType
    line: int
    position: Position | None
    # Libraries (other than JAX) whose frames lie between this frame and the user frame above
    # it: a function that a library called back (a diffrax vector field, a flax module's
    # `__call__`) gets values the library computed, not the caller's arguments as written.
    called_through: tuple[str, ...] = ()

    @property
    def code(self) -> types.CodeType:
        return self.frame.f_code

    @property
    def file(self) -> str:
        return self.code.co_filename


@dataclass(frozen=True)
class Site:
    """A user frame read as source: the function's AST, the failing node and its construct."""

    frame: UserFrame
    function: UserFunction | None
    node: ast.AST | None
    construct: Construct | None


def user_frames(exc: BaseException) -> list[UserFrame]:
    """The traceback's frames in user files, outermost first."""
    found: list[UserFrame] = []
    between: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if is_user_file(code.co_filename):
            position = _position(code, tb.tb_lasti)
            libraries = tuple(dict.fromkeys(between)) if found else ()
            found.append(UserFrame(tb.tb_frame, tb.tb_lineno, position, libraries))
            between = []
        elif library_package(tb.tb_frame) is not None:
            between.append(library_package(tb.tb_frame) or "")
        tb = tb.tb_next
    return found


def library_package(frame: types.FrameType) -> str | None:
    """The top-level package of a library frame; None for JAX, jaxexplain and the standard
    library, whose frames between two user frames are transforms or plumbing (`jax.vmap`,
    `functools`) that pass the caller's arguments on."""
    package = package_of(frame)
    if package in (*JAX_PACKAGES, "jaxexplain", "") or package in sys.stdlib_module_names:
        return None
    return package


def package_of(frame: types.FrameType) -> str:
    """The top-level package of the module a frame runs in ("" for code run from no module)."""
    return str(frame.f_globals.get("__name__", "")).split(".")[0]


def _position(code: types.CodeType, lasti: int) -> Position | None:
    positions = list(code.co_positions())
    if 0 <= lasti // 2 < len(positions):
        line, end_line, col, end_col = positions[lasti // 2]
        if None not in (line, end_line, col, end_col):
            return (line, end_line, col, end_col)  # type: ignore[return-value]
    return None


def frames_below_target(frames: list[UserFrame], target: Target) -> list[UserFrame]:
    """The frames from the target function down: callers above it (a test, a script) are not it."""
    code = getattr(function_object(target.function), "__code__", None)
    starts = [i for i, f in enumerate(frames) if f.code is code]
    return frames[starts[-1] :] if starts else frames


def function_object(fn: Any) -> Any:
    """The Python function under a jit wrapper or a bound method: the one whose code runs."""
    fn = _jax_compat.unwrap(fn)
    return getattr(fn, "__func__", fn)


def read_sites(frames: list[UserFrame]) -> list[Site]:
    """Each frame as source; a comprehension or lambda frame folds into its enclosing function."""
    sites: list[Site] = []
    for frame in frames:
        function = constructs.user_function(frame.code)
        enclosing = sites[-1].function if sites else None
        if (
            function is None
            and enclosing is not None
            and frame.position is not None
            and frame.code.co_name.startswith("<")
            and constructs.contains(enclosing, frame.position)
        ):
            moved = dataclasses.replace(sites[-1].frame, position=frame.position, line=frame.line)
            sites[-1] = _site(moved, enclosing)
            continue
        sites.append(_site(frame, function))
    return sites


def _site(frame: UserFrame, function: UserFunction | None) -> Site:
    if function is None or frame.position is None:
        return Site(frame, function, None, None)
    node = constructs.node_at(function, frame.position)
    if node is None:
        return Site(frame, function, None, None)
    return Site(frame, function, node, constructs.classify(function, node, line_text(frame)))


def line_text(frame: UserFrame) -> str:
    """The source line a frame was running, as the file reads now."""
    return linecache.getline(frame.file, frame.line)


def error_info(exc: BaseException) -> ErrorInfo:
    """The error class, its first paragraph, who raised it, and the user's file, line and
    source text."""
    frames = user_frames(exc)
    frame = frames[-1] if frames else None
    return ErrorInfo(
        type=type(exc).__name__,
        message=first_paragraph(str(exc)),
        file=frame.file if frame else None,
        line=frame.line if frame else None,
        source=line_text(frame).strip() or None if frame else None,
        raised_by=raised_by(exc),
    )


def raised_by(exc: BaseException) -> str:
    """Who raised `exc`: "jax" for JAX's own errors, "user" for the user's code, otherwise the
    top-level package of the library whose code raised it (only JAX's are labelled JAX's).

    JAX removes its internal frames from tracebacks, so a builtin exception JAX raised from a
    dunder method (`bool(tracer)`, a truth value that is ambiguous) can end at the user's line:
    an exception of a JAX class, or one that jaxexplain recognises as JAX's, is JAX's wherever
    it ends. An exception of an installed library's class is that library's. Otherwise the
    innermost frame decides; jaxexplain's own frames end the traceback only when JAX's frames
    below them were removed.
    """
    if type(exc).__module__.split(".")[0] in JAX_PACKAGES or failure_kind(exc) is not None:
        return "jax"
    library = _library_of_class(exc)
    if library is not None:
        return library
    tb = exc.__traceback__
    if tb is None:
        return "jax"
    while tb.tb_next is not None:
        tb = tb.tb_next
    if is_user_file(tb.tb_frame.f_code.co_filename):
        return "user"
    package = package_of(tb.tb_frame)
    return "jax" if package in (*JAX_PACKAGES, "jaxexplain", "") else package


def _library_of_class(exc: BaseException) -> str | None:
    """The installed library whose exception class `exc` is (jaxtyping's `TypeCheckError`),
    which raised it even where it cut its own frames from the traceback; None for builtin
    and standard-library classes and the user's own."""
    package = type(exc).__module__.split(".")[0]
    file = getattr(sys.modules.get(type(exc).__module__), "__file__", None)
    if file is None or package in sys.stdlib_module_names or is_user_file(file):
        return None
    return package


JAX_PACKAGES = ("jax", "jaxlib")


def first_paragraph(message: str) -> str:
    """JAX error messages run long; the first paragraph carries the fact."""
    return message.strip().split("\n\n")[0].strip()


@dataclass(frozen=True)
class LibrarySite:
    """The line inside a library (JAX's own included) that needed the value, below the user's
    call into it: the user's line alone reads as if the call's result were the tracer."""

    package: str
    path: str
    line: int
    source: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def library_site(exc: BaseException) -> LibrarySite | None:
    """Where library code below the user's last frame raised (None when the user's own line
    did, or jaxexplain): the innermost frame of a library other than JAX and the array
    libraries it calls into when there is one (equinox's `MLP` line, not the
    `jax.random.split` it calls; numpyro's `int(np.prod(...))`, not NumPy's `ufunc.reduce`),
    else NumPy's (the user called it), else JAX's innermost. Its path is shown from the
    package's directory on, as `flax/linen/attention.py`."""
    below: list[types.TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        below = [] if is_user_file(tb.tb_frame.f_code.co_filename) else [*below, tb]
        tb = tb.tb_next
    if not below or package_of(below[-1].tb_frame) in ("jaxexplain", ""):
        return None
    libraries = [t for t in below if library_package(t.tb_frame) is not None]
    named = [t for t in libraries if package_of(t.tb_frame) not in _ARRAY_INTERNALS]
    chosen = (named or libraries or below)[-1]
    file = chosen.tb_frame.f_code.co_filename
    package = package_of(chosen.tb_frame)
    source = linecache.getline(file, chosen.tb_lineno).strip()
    return LibrarySite(package, _library_path(file, package), chosen.tb_lineno, source)


# Array libraries that a library's own line calls into (numpyro's `np.prod(batch_shape)` ends in
# NumPy's `ufunc.reduce`): their frames are plumbing, skipped like JAX's when a library of the
# user's own choice lies above them, and named only when the user called them directly.
_ARRAY_INTERNALS = ("numpy", "ml_dtypes", "opt_einsum")


def _library_path(file: str, package: str) -> str:
    parts = file.split(os.sep)
    if package in parts:
        start = len(parts) - 1 - parts[::-1].index(package)
        return "/".join(parts[start:])
    return os.path.basename(file)


def columns(site: Site | None) -> tuple[int | None, int | None]:
    """The failing expression's span within the stripped source line, for a caret under it."""
    if site is None or site.frame.position is None:
        return None, None
    line, end_line, col, end_col = _caret_position(site)
    if line != end_line or line != site.frame.line:
        return None, None
    raw = line_text(site.frame)
    indent = len(raw) - len(raw.lstrip())
    return col - indent, end_col - indent


def _caret_position(site: Site) -> tuple[int, int, int, int]:
    """Where the caret goes: the failing instruction's position, or, where Python 3.11 gives
    the jump of `if flag:` the span of the whole statement, the one expression it tested."""
    assert site.frame.position is not None
    line, end_line, _, _ = site.frame.position
    needed = site.construct.needed if site.construct is not None else ()
    node = needed[0] if len(needed) == 1 else None
    if line != end_line and node is not None:
        last, end_col = node.end_lineno, node.end_col_offset
        if last is not None and end_col is not None:
            return node.lineno, last, node.col_offset, end_col
    return site.frame.position


def at_definition(exc: BaseException, target: Target) -> ErrorInfo:
    """Errors about arguments happen before the function runs: point at its `def` line."""
    fn = function_object(target.function)
    code = getattr(fn, "__code__", None)
    info = error_info(exc)
    if code is None:
        return info
    node = constructs.user_function(code)
    line = node.node.lineno if node else code.co_firstlineno
    return dataclasses.replace(
        info,
        file=code.co_filename,
        line=line,
        source=linecache.getline(code.co_filename, line).strip() or None,
    )
