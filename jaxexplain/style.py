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
    """Mid-tone colors that read on dark and light terminals alike; plain text keeps the
    terminal's own color. Primitives stand out, types are quiet."""

    background_color = "#fbfbfd"
    styles = {  # noqa: RUF012 (the Pygments API wants a class-level dict)
        Text: "",
        Comment: "italic #8c8fa1",
        Keyword: "bold #8839ef",
        Keyword.Type: "nobold #179299",
        Name: "",
        Name.Variable: "#4c6ef5",
        Name.Function: "bold #d97706",
        Name.Attribute: "#e8590c",
        Name.Label: "bold #8839ef",
        Name.Builtin: "#d20f39",
        Number: "#40a02b",
        String: "#40a02b",
        Operator: "#8c8fa1",
        Punctuation: "#8c8fa1",
    }
