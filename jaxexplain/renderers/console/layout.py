"""Lines laid out for a width without cutting a token: jaxpr equations with their source
comment, and table values (paths, key paths) that break at `[`, `.`, `,` and `/`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

# Where a line may break, best first: after a space, then after a separator inside a token.
_SEPARATORS = (" ", ",", "]", "[", ".", "/", "(")
_CHUNK = re.compile(r"(?<=[ ,\]\[./(])")
HANG = 4  # a continuation is indented this far past its line


def broken(text: str, width: int, hang: int = HANG) -> list[str]:
    """`text` in lines of at most `width` columns, each break after a space where there is one
    in the line's second half, else after a separator; a continuation keeps the line's indent
    plus `hang`. Only a run of `width` columns with no separator at all is cut."""
    indent = len(text) - len(text.lstrip(" "))
    lead = " " * min(indent + hang, max(width // 2, 0))
    lines: list[str] = []
    rest, prefix = text, ""
    while len(prefix) + len(rest) > width:
        room = width - len(prefix)
        cut = _break_at(rest, room)
        lines.append(prefix + rest[:cut].rstrip(" "))
        rest, prefix = rest[cut:].lstrip(" "), lead
    lines.append(prefix + rest)
    return lines


def _break_at(text: str, room: int) -> int:
    """The length of the first piece: the last separator within `room`, spaces first."""
    floor = room // 2
    for separator in _SEPARATORS:
        at = text.rfind(separator, floor, room)
        if at > 0:
            return at + 1
    return max(room, 1)


def jaxpr_lines(lines: Sequence[str], comments: Sequence[str | None], width: int) -> list[str]:
    """The jaxpr at `width`: each equation with its `# source` comment beside it where both fit,
    else the comment on its own line under the equation; long equations broken after a space."""
    out: list[str] = []
    for i, line in enumerate(lines):
        comment = comments[i] if i < len(comments) else None
        tail = f"  # {comment}" if comment else ""
        if len(line) + len(tail) <= width:
            out.append(line + tail)
            continue
        pieces = broken(line, width)
        if comment and len(pieces[-1]) + len(tail) <= width:
            pieces[-1] += tail
        elif comment:
            indent = " " * (len(line) - len(line.lstrip(" ")) + HANG)
            pieces += broken(f"{indent}# {comment}", width, hang=2)
        out += pieces
    return out


class Breakable:
    """A table value that wraps at `[`, `.`, `,` and `/`, never inside an identifier: rich folds
    a long value at any character (`params['bl` / `ocks']`) or cuts it with an ellipsis."""

    def __init__(self, text: str, style: str = "") -> None:
        self.text = text
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(chunk) for chunk in _CHUNK.split(self.text)), default=0)
        return Measurement(longest, len(self.text))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in broken(self.text, options.max_width, hang=2):
            yield Text(line, style=self.style, no_wrap=True, overflow="crop")
