"""How a report shows itself where JAX users look at it: `print`, IPython, Jupyter and rich.

Every report class mixes in `Displayed`: `str(report)` is the full text report, `repr` one line; Jupyter shows the
report's HTML page; IPython's pretty printer and rich show the text report (rich in color). The
renderers are imported only when a report is shown, so that the model imports nothing heavy.
"""

from __future__ import annotations

import html
from typing import Any

#: The height of a report in a notebook cell before it scrolls; the report itself stays whole.
NOTEBOOK_HEIGHT_PX = 640


class Displayed:
    """The display hooks of a report; `render` and the registry decide what each looks like."""

    def __str__(self) -> str:
        return text_of(self)

    def __repr__(self) -> str:
        """One line: the report is read through `print` or the notebook, never as a repr."""
        about = getattr(self, "target", None) or getattr(self, "program", "")
        return f"<{type(self).__name__} {about}: print() it for the report>"

    def _repr_html_(self) -> str:
        """The HTML page, isolated in its own frame: a notebook shows several reports, each with
        its own stylesheet, element ids and script, and none of them can restyle the notebook."""
        return notebook_frame(rendered(self, "html"))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain display (a terminal IPython, `%pprint`): the text report."""
        printer.text(type(self).__name__ if cycle else text_of(self))

    def __rich__(self) -> Any:
        """The colored text report for `rich.print(report)` and rich's console."""
        from rich.text import Text

        return Text.from_ansi(rendered(self, "text", color=True))


def rendered(report: Any, fmt: str, *, color: bool = False) -> str:
    """The report in `fmt`, through the renderers' registry (imported now)."""
    from jaxexplain.renderers import render

    return render(report, fmt, color=color)


def text_of(report: Any) -> str:
    """The full text report, as `str(report)` gives it (what a user prints)."""
    return rendered(report, "text")


def notebook_frame(page: str) -> str:
    """An HTML page as a notebook cell's output: a frame whose whole document is the page (no
    external asset: the page inlines its stylesheet and script), resizable by the reader."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" '
        f'style="width: 100%; height: {NOTEBOOK_HEIGHT_PX}px; border: 0; resize: vertical" '
        'title="jaxexplain report"></iframe>'
    )
