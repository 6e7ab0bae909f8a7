"""explain/rewrite_fixes.py: a rewrite offered as a fix names the lines it replaces, in the
user's own aliases, with the imports the module lacks; the test writes it into a copy of the
file as a user would, and JAX traces it. When every rewrite fails its checks, that is said."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxexplain.explain.rewrite_fixes import module_aliases
from jaxexplain.explain.rewrites import Aliases
from jaxexplain.explain.wording import TRIED
from tests.failing_cases import explain_as
from tests.targets.explain import aliased
from tests.targets.libs import rewrites as lib_rewrites

F32 = jax.ShapeDtypeStruct((), np.float32)


def test_the_aliases_are_the_names_the_users_module_binds() -> None:
    assert module_aliases(vars(aliased)) == Aliases(jnp="jnp", lax="jax.lax", np="onp", jax="jax")
    usual = {"jax": jax, "jnp": jnp, "lax": jax.lax, "np": np}
    assert module_aliases(usual) == Aliases()
    assert module_aliases({"xnp": jnp, "j": jax}) == Aliases(jnp="xnp", lax="j.lax", jax="j")


def test_a_fix_names_its_lines_and_the_import_it_needs_and_works_as_written(
    tmp_path: Path,
) -> None:
    error = explain_as("cli", aliased.clipped_sqrt, traced={"x": F32})
    (fix,) = [s for s in error.suggestions if s.kind == "rewrite"]
    assert fix.verified and fix.code is not None
    match = re.search(r"replace lines (\d+)-(\d+) of (\S+) \(after `([^`]+)`\)", fix.text)
    assert match is not None
    first, last, path, imports = int(match[1]), int(match[2]), match[3], match[4]
    assert Path(path).resolve() == Path(aliased.__file__).resolve()
    assert imports == "import jax.numpy as jnp"
    lines = Path(aliased.__file__).read_text().splitlines()
    lines[first - 1 : last] = fix.code.splitlines()
    written = tmp_path / "aliased_fixed.py"
    written.write_text("\n".join([*lines, imports]) + "\n")
    spec = importlib.util.spec_from_file_location("aliased_fixed", written)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for x in (-1.5, 0.0, 2.0):
        value = jnp.float32(x)
        assert jax.jit(module.clipped_sqrt)(value) == aliased.clipped_sqrt(value)
        assert jax.grad(module.clipped_sqrt)(value) == jax.grad(aliased.clipped_sqrt)(value)


def test_when_every_rewrite_fails_its_checks_what_each_showed_is_said() -> None:
    """`pick`'s branches have other shapes: `jnp.where` broadcasts, so no rewrite is its code."""
    error = explain_as(
        "cli", lib_rewrites.pick, traced={"x": jax.ShapeDtypeStruct((3,), np.float32), "s": F32}
    )
    (tried,) = [s for s in error.suggestions if s.text.startswith(TRIED)]
    assert not tried.verified and tried.kind == "advice"
    assert "jnp.where instead of a Python branch: it returns other values" in tried.text
