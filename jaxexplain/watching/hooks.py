"""How `watch` sees compilations: wrappers on jit's cache-miss path plus JAX's duration events.

Every miss of a jit wrapper's C++ dispatch cache calls pjit's `_infer_params` (trace, or a hit
of the tracing cache), then `_run_python_pjit` (lower, compile, run), then `_get_fastpath_data`
(whether the C++ path may serve the next call). An `Observation` is opened on the first and
closed after the third; the trace, lowering and XLA compile durations that `jax.monitoring`
reports in between are credited to the innermost open observation, so the observation says which
cache layer served the call. Only an observation that lowered or compiled something, or a
top-level call that compiled nothing, is handed on: the second is a fast-path miss that JAX's
tracing cache (or its in-memory executable) served, which the subscriber counts. A nested jit
inside an outer trace costs two function calls. A steady-state loop on the fast path never
reaches this code.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import jax

from jaxexplain import _jax_compat


@dataclass
class Observation:
    """One jit cache miss, from `_infer_params` to the end of `_run_python_pjit`."""

    fun: Callable[..., Any]
    jit_info: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    transformed: bool
    eager: bool
    params: Any = None
    trace_seconds: float = 0.0
    lower_seconds: float = 0.0
    compile_seconds: float = 0.0
    compiled: bool = False
    persistent_cache_hit: bool = False
    disk: list[_jax_compat.DiskCompile] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    traced: bool = False
    lowered: bool = False
    backend_compiled: bool = False
    fast_path: bool | None = None
    refusal: str | None = None
    ended: float = 0.0


class Subscriber(Protocol):
    """Receives finished observations; `frame` is the hook's frame, for finding the call site."""

    def on_compile(self, observation: Observation, frame: FrameType) -> None: ...

    def on_unattributed(self, event: str, seconds: float) -> None: ...

    def on_internal_error(self, exc: BaseException) -> None: ...

    def on_failure(self, observation: Observation, exc: Exception, frame: FrameType) -> None: ...


class _Hooks:
    """The installed wrappers and listeners, shared by every active subscriber (watches nest)."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.local = threading.local()
        self.restore: Callable[[], None] | None = None
        self.lock = threading.Lock()
        self.pauses = 0

    def stack(self) -> list[Observation]:
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        return stack

    def install(self) -> None:
        unhide = _jax_compat.hide_from_jax_tracebacks(__file__)
        unpatch = _jax_compat.patch_jit_cache_miss(self.wrap_infer, self.wrap_run)
        unpatch_disk = _jax_compat.patch_persistent_cache(self.on_disk_compile)
        unpatch_fast_path = _jax_compat.patch_fast_path_data(self.wrap_fast_path)

        def restore() -> None:
            unpatch_fast_path()
            unpatch_disk()
            unpatch()
            unhide()

        self.restore = restore
        jax.monitoring.register_event_duration_secs_listener(self.on_duration)
        jax.monitoring.register_event_listener(self.on_event)

    def uninstall(self) -> None:
        if self.restore is not None:
            self.restore()
            self.restore = None
        _jax_compat.unregister_duration_listener(self.on_duration)
        _jax_compat.unregister_event_listener(self.on_event)

    def paused(self) -> bool:
        """True while jaxexplain itself traces and compiles (`watch --explain`), on any thread:
        its compile overlaps the report's Python work on a worker thread."""
        return self.pauses > 0

    def wrap_infer(self, infer: Callable[..., Any]) -> Callable[..., Any]:
        is_miss = _jax_compat.called_by_jit_cache_miss

        def infer_params(fun: Any, jit_info: Any, args: Any, kwargs: Any) -> Any:
            if self.paused() or not is_miss(sys._getframe(1)):
                return infer(fun, jit_info, args, kwargs)
            observation = Observation(
                fun,
                jit_info,
                args,
                kwargs,
                transformed=not _jax_compat.trace_state_clean(),
                eager=_jax_compat.is_eager_primitive(fun),
            )
            self.local.awaiting = None
            stack = self.stack()
            stack.append(observation)
            try:
                result = infer(fun, jit_info, args, kwargs)
            except Exception as exc:
                _pop(stack, observation)
                if not observation.transformed:
                    self.publish_failure(observation, exc, sys._getframe())
                raise
            except BaseException:
                _pop(stack, observation)
                raise
            observation.params = result[0]
            return result

        return infer_params

    def wrap_run(self, run: Callable[..., Any]) -> Callable[..., Any]:
        def run_python_pjit(params: Any, args_flat: Any, fun: Any, args: Any, kwargs: Any) -> Any:
            stack = self.stack()
            observation = stack[-1] if stack else None
            if (
                observation is None
                or observation.fun is not fun
                or observation.params is not params
            ):
                return run(params, args_flat, fun, args, kwargs)
            try:
                result = run(params, args_flat, fun, args, kwargs)
            except BaseException:
                _pop(stack, observation)
                self.publish_finished(observation, sys._getframe())
                raise
            _pop(stack, observation)
            self.local.awaiting = observation
            return result

        return run_python_pjit

    def wrap_fast_path(
        self, get: Callable[[_jax_compat.FastPathCall], Any]
    ) -> Callable[[_jax_compat.FastPathCall], Any]:
        def get_fastpath_data(call: _jax_compat.FastPathCall) -> Any:
            data = get(call)
            observation = getattr(self.local, "awaiting", None)
            if observation is None or not _jax_compat.called_by_jit_cache_miss(sys._getframe(1)):
                return data
            self.local.awaiting = None
            observation.fast_path = data is not None
            if data is None:
                observation.refusal = _jax_compat.fast_path_refusal(call)
            self.publish_finished(observation, sys._getframe())
            return data

        return get_fastpath_data

    def publish_finished(self, observation: Observation, frame: FrameType) -> None:
        """A finished miss: one that compiled, or a top-level call that a cache layer served."""
        observation.ended = time.perf_counter()
        if observation.compiled or not (observation.transformed or observation.eager):
            self.publish(observation, frame)

    def publish(self, observation: Observation, frame: FrameType) -> None:
        """Hands a compilation to every subscriber; their failures never reach the user's program."""
        for subscriber in list(self.subscribers):
            try:
                subscriber.on_compile(observation, frame)
            except Exception as exc:
                subscriber.on_internal_error(exc)

    def publish_failure(self, observation: Observation, exc: Exception, frame: FrameType) -> None:
        """Hands a call whose trace raised to every subscriber, before it reaches the program."""
        for subscriber in list(self.subscribers):
            try:
                subscriber.on_failure(observation, exc, frame)
            except Exception as error:
                subscriber.on_internal_error(error)

    def on_duration(self, event: str, duration_secs: float, **_: str | int) -> None:
        seconds = duration_secs
        if self.paused() or event not in (
            _jax_compat.TRACE_EVENT,
            _jax_compat.LOWER_EVENT,
            _jax_compat.COMPILE_EVENT,
        ):
            return
        stack = self.stack()
        if not stack:
            if event != _jax_compat.TRACE_EVENT:
                for subscriber in list(self.subscribers):
                    subscriber.on_unattributed(event, seconds)
            return
        observation = stack[-1]
        if event == _jax_compat.TRACE_EVENT:
            observation.trace_seconds += seconds
            observation.traced = True
        elif event == _jax_compat.LOWER_EVENT:
            observation.lower_seconds += seconds
            observation.compiled = observation.lowered = True
        else:
            observation.compile_seconds += seconds
            observation.compiled = observation.backend_compiled = True

    def on_disk_compile(self, disk: _jax_compat.DiskCompile) -> None:
        """What the persistent compilation cache did for a backend compile of the open call."""
        stack = self.stack()
        if stack and not self.paused():
            stack[-1].disk.append(disk)

    def on_event(self, event: str, **_: str | int) -> None:
        if event == _jax_compat.PERSISTENT_HIT_EVENT and not self.paused():
            stack = self.stack()
            if stack:
                stack[-1].persistent_cache_hit = True
                stack[-1].compiled = True


def _pop(stack: list[Observation], observation: Observation) -> None:
    if stack and stack[-1] is observation:
        stack.pop()
    elif observation in stack:
        stack.remove(observation)


_HOOKS = _Hooks()


def subscribe(subscriber: Subscriber) -> None:
    """Starts delivering compilations to `subscriber`; the first one installs the hooks."""
    with _HOOKS.lock:
        if not _HOOKS.subscribers:
            _HOOKS.install()
        _HOOKS.subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    """Stops delivering to `subscriber`; the last one out removes every hook and listener."""
    with _HOOKS.lock:
        if subscriber in _HOOKS.subscribers:
            _HOOKS.subscribers.remove(subscriber)
        if not _HOOKS.subscribers:
            _HOOKS.uninstall()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """jaxexplain's own tracing and compiling, unseen by every watch: the explanation of a real
    call must not be reported as a compilation of the program, nor write entries into its
    persistent cache. It runs inside the program's call, so the program's other threads rarely
    compile meanwhile; what they do is not seen (nor written to disk) either."""
    with _HOOKS.lock:
        _HOOKS.pauses += 1
    try:
        with _jax_compat.disk_writes_held():
            yield
    finally:
        with _HOOKS.lock:
            _HOOKS.pauses -= 1


def hooks_installed() -> bool:
    """True while any watch is active (tests check that everything is removed on exit)."""
    return _HOOKS.restore is not None


class FunctionRef:
    """Identifies a jitted function object without keeping it alive (lambdas die, ids get reused).

    Identity is what JAX's caches key on: a new lambda, `functools.partial` or bound method
    (`obj.method` makes a new one on every access) is a new function with an empty cache.
    """

    def __init__(self, fun: Any) -> None:
        self._strong: Any = None
        try:
            self._ref: Any = weakref.ref(fun)
        except TypeError:
            self._ref = None
            self._strong = fun

    def is_(self, fun: Any) -> bool:
        target = self._strong if self._ref is None else self._ref()
        return target is fun
