"""Lines laid out for a width: breaks after spaces and separators, never inside a name."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from rich.table import Table

from jaxexplain.renderers.console.common import write_sections
from jaxexplain.renderers.console.layout import Breakable, broken, jaxpr_lines


def test_a_path_breaks_after_its_separators_with_the_indent_kept() -> None:
    path = "  params['blocks'][47]['attention']['query_projection']['kernel']"
    lines = broken(path, 30)
    assert all(len(line) <= 30 for line in lines)
    assert "".join(line.strip() for line in lines) == path.strip()
    assert all(line.startswith("      ") for line in lines[1:])
    assert all(line.rstrip()[-1] in " ,][./(" for line in lines[:-1])


def test_an_equation_keeps_its_source_beside_it_or_on_the_next_line() -> None:
    def f(x: jax.Array) -> jax.Array:
        return jnp.cos(jnp.sin(x) * 2.0) + x.sum()

    lines = str(jax.make_jaxpr(f)(jnp.ones((8, 128)))).split("\n")
    comments = [None, *["model.py:12"] * (len(lines) - 2), None]
    wide = jaxpr_lines(lines, comments, 200)
    assert wide[1] == f"{lines[1]}  # model.py:12"
    narrow = jaxpr_lines(lines, comments, len(lines[1]) + 4)
    assert narrow[narrow.index(lines[1]) + 1].strip() == "# model.py:12"


def test_a_table_value_wraps_at_separators_not_inside_an_identifier() -> None:
    path = "tests/watch_programs/training_loop.py:42"
    table = Table("function", "defined at", box=None)
    table.add_row("train_step_with_a_long_name", Breakable(path))
    written = write_sections([table], color=False, width=50)
    cells = [line[line.index("  ") :].strip() for line in written.strip().split("\n")[1:]]
    assert "".join(cells) == path
    assert all(len(line) <= 50 for line in written.split("\n"))
