"""The one definition of jaxexplain's colors: a Pygments style that the terminal and HTML share."""

from __future__ import annotations

from pygments.style import Style
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
)


class JaxprStyle(Style):
    """Primitives stand out, types are quiet, variables readable on dark and light terminals."""

    background_color = "#1e1e2e"
    styles = {  # noqa: RUF012 (the Pygments API wants a class-level dict)
        Text: "#cdd6f4",
        Comment: "italic #7f849c",
        Keyword: "bold #cba6f7",
        Keyword.Type: "#94e2d5",
        Name: "#cdd6f4",
        Name.Variable: "#89b4fa",
        Name.Function: "bold #f9e2af",
        Name.Attribute: "#fab387",
        Name.Builtin: "#f38ba8",
        Number: "#a6e3a1",
        String: "#a6e3a1",
        Operator: "#9399b2",
        Punctuation: "#9399b2",
    }
