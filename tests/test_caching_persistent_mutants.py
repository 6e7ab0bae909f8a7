"""The persistent-cache helpers called in this process, so that mutation testing can see them:
`tests/test_caching_persistent.py` runs real programs in subprocesses, which mutmut cannot
credit to any function."""

from __future__ import annotations

import os
from pathlib import Path

from jaxexplain import _jax_compat
from jaxexplain.caching import persistent
from jaxexplain.renderers.words import DISK_ABSENT


def test_flag_changes_name_the_flags_only_on_each_side() -> None:
    before = "--xla_a=1 --xla_d=4 --xla_shared=0"
    after = "--xla_shared=0 --xla_b=2 --xla_c=3"
    assert persistent._flag_changes(before, after) == ("--xla_a=1 --xla_d=4", "--xla_b=2 --xla_c=3")


def test_flag_changes_say_absent_for_a_side_with_no_flag_of_its_own() -> None:
    assert persistent._flag_changes("", "--xla_b=2") == (DISK_ABSENT, "--xla_b=2")
    assert persistent._flag_changes("--xla_a=1", "--xla_a=1") == (DISK_ABSENT, DISK_ABSENT)


def test_differing_parts_come_in_the_order_of_jaxs_key_then_by_name() -> None:
    parts = _jax_compat.DISK_KEY_PARTS
    before = {parts[0]: "a", parts[3]: "b", "zeta": "1", "alpha": "1"}
    after = {parts[0]: "a2", parts[3]: "b2", "zeta": "2", "beta": "1"}
    assert persistent._differing(before, after) == [parts[0], parts[3], "alpha", "beta", "zeta"]


def test_parts_equal_on_both_sides_do_not_differ() -> None:
    part = _jax_compat.DISK_KEY_PARTS[1]
    assert persistent._differing({part: "same"}, {part: "same"}) == []


def test_the_state_of_a_cache_directory_jax_could_not_use(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert persistent._dir_state(str(blocker)) == "file"
    assert persistent._dir_state(str(tmp_path / "missing")) == "missing"
    assert persistent._dir_state(str(tmp_path)) == ""


def test_a_directory_without_permissions_is_unwritable_unless_root(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        expected = "" if os.access(locked, os.R_OK | os.W_OK | os.X_OK) else "unwritable"
        assert persistent._dir_state(str(locked)) == expected
    finally:
        locked.chmod(0o700)
