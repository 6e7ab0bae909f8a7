"""Noticing trace and profile functions set while a recording runs (decisions/disturbance.py):
per thread, every call counted, jaxexplain's own hook left out."""

from __future__ import annotations

import sys
import threading

from jaxexplain import _py_compat
from jaxexplain.decisions.disturbance import SetterWatch, disturbed_reason, own_call
from tests.targets.decisions import flow


def test_each_call_setting_a_trace_function_in_the_watching_thread_is_counted() -> None:
    watch = SetterWatch()
    watch.start()
    try:
        flow.sets_and_restores_the_trace_function(4)
        flow.profiles_itself(4)
    finally:
        watch.stop()
    profiled = ["setprofile"] * 2 if _py_compat.SETPROFILE_DISTURBS_RECORDING else []
    assert watch.calls == ["settrace", "settrace", *profiled]
    flow.sets_and_restores_the_trace_function(4)
    assert len(watch.calls) == 2 + len(profiled)  # nothing counted once stopped


def test_jaxexplains_own_calls_and_other_threads_are_not_counted() -> None:
    watch = SetterWatch()
    watch.start()
    try:
        saved = sys.gettrace()
        with own_call():
            sys.settrace(saved)
        other = threading.Thread(target=flow.sets_and_restores_the_trace_function, args=(4,))
        other.start()
        other.join()
    finally:
        watch.stop()
    assert watch.calls == []


def test_watches_nest_and_each_sees_the_calls_made_while_it_watched() -> None:
    outer, inner = SetterWatch(), SetterWatch()
    outer.start()
    try:
        inner.start()
        flow.sets_and_restores_the_trace_function(4)
        inner.stop()
        flow.sets_and_restores_the_trace_function(4)
    finally:
        outer.stop()
    assert (len(outer.calls), len(inner.calls)) == (4, 2)


def test_the_reason_names_each_function_set_and_how_often() -> None:
    reason = disturbed_reason(["settrace", "setprofile", "settrace"])
    assert "called sys.settrace and sys.setprofile (3 times" in reason
    assert "called sys.settrace (once" in disturbed_reason(["settrace"])
