"""The HTML page's two themes, dark (the default) and light (`prefers-color-scheme: light`):
the token colors of code, per theme, in `JaxprStyle`'s font weights and slants.

`JaxprStyle`'s mid-tones serve terminals of either background; a page knows its background, so
each theme gets colors with at least 4.5:1 contrast on it (WCAG AA, tests/test_renderers_html_
themes.py computes every ratio). The page's own colors are `report.css`'s variables, per theme.
"""

from __future__ import annotations

import re

from pygments.formatters import HtmlFormatter
from pygments.style import Style
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    _TokenType,
)

from jaxexplain.style import JaxprStyle

LIGHT_MEDIA = "@media (prefers-color-scheme: light)"

# The color of each token type that `JaxprStyle` colors, per theme.
DARK: dict[_TokenType, str] = {
    Comment: "#9399b2",
    Keyword: "#cba6f7",
    Keyword.Type: "#94e2d5",
    Name.Variable: "#89b4fa",
    Name.Function: "#fab387",
    Name.Attribute: "#eba0ac",
    Name.Label: "#cba6f7",
    Name.Builtin: "#f38ba8",
    Number: "#a6e3a1",
    String: "#a6e3a1",
    Operator: "#9399b2",
    Punctuation: "#9399b2",
}
LIGHT: dict[_TokenType, str] = {
    Comment: "#5c5f77",
    Keyword: "#7527d6",
    Keyword.Type: "#0b6e75",
    Name.Variable: "#1e55d6",
    Name.Function: "#a14e00",
    Name.Attribute: "#b23c06",
    Name.Label: "#7527d6",
    Name.Builtin: "#b0102f",
    Number: "#2b6e1c",
    String: "#2b6e1c",
    Operator: "#5c5f77",
    Punctuation: "#5c5f77",
}
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def themed_style(colors: dict[_TokenType, str]) -> type[Style]:
    """`JaxprStyle` with each token's color replaced by the theme's."""
    styles = {
        token: _HEX.sub(colors[token], spec) if token in colors else spec
        for token, spec in JaxprStyle.styles.items()
    }
    return type("ThemedJaxprStyle", (JaxprStyle,), {"styles": styles})


def token_css(scope: str) -> str:
    """The token rules of both themes under `scope`: dark, then light in its media query."""
    dark, light = (_rules(themed_style(colors), scope) for colors in (DARK, LIGHT))
    return f"{dark}\n{LIGHT_MEDIA} {{\n{light}\n}}"


def _rules(style: type[Style], scope: str) -> str:
    rules = HtmlFormatter(style=style).get_token_style_defs(scope)
    return "\n".join(rules if isinstance(rules, list) else [rules])
