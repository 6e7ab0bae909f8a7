"""The package's public face: `dir()` lists the API before it is loaded, `help()` shows types,
and the package says it is typed."""

from __future__ import annotations

import ast
import inspect
import pydoc
import subprocess
import sys
from importlib import resources

import jaxexplain

PUBLIC = {"trace", "trace_target", "diff", "diff_target", "watch", "assert_max_compiles", "render"}


def test_dir_lists_the_public_api_without_importing_jax() -> None:
    code = "import jaxexplain, sys; print(sorted(dir(jaxexplain))); print('jax' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    names, jax_imported = result.stdout.splitlines()
    assert set(ast.literal_eval(names)) >= PUBLIC and jax_imported == "False"


def test_help_shows_real_annotations() -> None:
    for name in PUBLIC:
        signature = inspect.signature(getattr(jaxexplain, name))
        annotations = [p.annotation for p in signature.parameters.values()]
        assert not any(isinstance(a, str) for a in annotations), name
    text = pydoc.render_doc(jaxexplain.trace, renderer=pydoc.plaintext)
    assert "-> jaxexplain.report.TraceReport" in text and "'" not in text.split("\n")[2]


def test_the_package_is_typed() -> None:
    assert resources.files("jaxexplain").joinpath("py.typed").is_file()
