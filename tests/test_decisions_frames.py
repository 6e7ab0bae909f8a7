"""The frames a recording sees (decisions/frames.py): which files are user code or a library's,
and each run of a user frame with the call that made it, followed through library code by
the objects it was handed."""

from __future__ import annotations

import inspect

import jax
import optax
import pytest

from jaxexplain.decisions.frames import LIBRARY, FrameLog
from jaxexplain.decisions.recorder import DecisionRecorder
from jaxexplain.userfiles import is_user_file
from tests.recording import USER_MODULES, roles_of
from tests.targets.decisions import handed


def test_default_user_files():
    assert is_user_file(__file__)
    assert is_user_file(str(USER_MODULES / "decisions_targets.py"))
    assert not is_user_file(inspect.getfile(inspect))  # the standard library
    assert not is_user_file(jax.__file__)
    assert not is_user_file(pytest.__file__)  # site-packages
    assert not is_user_file(inspect.getfile(DecisionRecorder))  # jaxexplain itself
    assert not is_user_file("<string>")  # generated code, e.g. dataclass methods


def test_files_are_user_code_a_librarys_or_neither_decided_once() -> None:
    asked: list[str] = []

    def user_file(name: str) -> bool:
        asked.append(name)
        return is_user_file(name)

    frames = FrameLog(None, user_file)
    files = [__file__, inspect.getfile(optax), jax.__file__, inspect.getfile(inspect)]
    assert [frames.file_verdict(f) for f in files] == [True, LIBRARY, False, False]
    assert [frames.file_verdict(f) for f in files] == [True, LIBRARY, False, False]
    assert asked == files


@pytest.mark.parametrize(("depth", "train"), [(2, True), (2, False), (1, True)])
def test_a_helper_a_library_called_is_followed_by_the_objects_it_was_handed(
    depth: int, train: bool
) -> None:
    """`widen` runs below functools' dispatch wrapper, not called from the source: its
    `config` is the root's local `model.config`, found by identity among the root's locals,
    and its depth the root's static `depth` that built it; `train` is the root's `train`."""
    roles = roles_of(handed.forward, {"depth": depth, "train": train})
    with DecisionRecorder(handed.forward, roles) as recorder:
        result = handed.forward(depth, train)
    runs = {a.code.co_name: a for a in recorder._frames.activations}
    assert runs["widen"].direct is False
    assert runs["widen"].parent is runs["forward"]
    by_source = {d.source: d for d in recorder.decisions()}
    assert by_source["config.depth > 1"].outcomes == (("true" if result else "false"),)
    assert [(d.name, d.via) for d in by_source["config.depth > 1"].depends_on] == [
        ("depth", "static")
    ]
    if result:
        ifexp = by_source["train"]
        assert ifexp.outcomes == (("true" if result == 2 else "false"),)
        assert [(d.name, d.via) for d in ifexp.depends_on] == [("train", "static")]
