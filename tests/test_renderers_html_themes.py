"""themes.py and report.css: a dark and a light theme, every text color at least 4.5:1 against
the backgrounds it is drawn on (WCAG AA), computed from the palettes the page ships."""

from __future__ import annotations

import re

import pytest
from pygments.token import Keyword

from jaxexplain.renderers.html import themes
from jaxexplain.renderers.html.page import pygments_css, template

AA = 4.5
FOREGROUNDS = ("text", "subtext", "dim", "accent", "good", "bad", "warn", "static", "lib")
BACKGROUNDS = ("bg", "panel")


def luminance(color: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colors."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def palettes() -> dict[str, dict[str, str]]:
    """The CSS variables of each theme, read from the stylesheet the page inlines."""
    css = template("report.css")
    dark = css.split(":root {", 1)[1].split("}", 1)[0]
    light = css.split(themes.LIGHT_MEDIA, 1)[1].split(":root {", 1)[1].split("}", 1)[0]
    return {
        name: dict(re.findall(r"--(\w+):\s*(#[0-9a-f]{6})", block))
        for name, block in (("dark", dark), ("light", light))
    }


def test_the_contrast_formula_on_known_pairs() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_page_color_reads_on_its_backgrounds(theme: str) -> None:
    palette = palettes()[theme]
    pairs = [(fg, bg) for fg in FOREGROUNDS for bg in BACKGROUNDS] + [("subtext", "surface")]
    ratios = {pair: contrast(palette[pair[0]], palette[pair[1]]) for pair in pairs}
    assert min(ratios.values()) >= AA, {p: round(r, 2) for p, r in ratios.items() if r < AA}


@pytest.mark.parametrize(("theme", "colors"), [("dark", themes.DARK), ("light", themes.LIGHT)])
def test_every_token_color_reads_on_the_code_backgrounds(theme: str, colors: dict) -> None:
    palette = palettes()[theme]
    ratios = {
        (str(token), bg): contrast(color, palette[bg])
        for token, color in colors.items()
        for bg in BACKGROUNDS
    }
    assert min(ratios.values()) >= AA, {p: round(r, 2) for p, r in ratios.items() if r < AA}


def test_both_themes_color_every_token_the_style_colors() -> None:
    colored = {t for t, spec in themes.JaxprStyle.styles.items() if "#" in spec}
    assert colored == set(themes.DARK) == set(themes.LIGHT)


def test_the_page_css_has_both_themes_with_the_styles_weights() -> None:
    css = pygments_css()
    dark, light = css.split(themes.LIGHT_MEDIA)
    keyword = themes.DARK[Keyword].upper()
    assert f".code .k {{ color: {keyword}; font-weight: bold }}" in dark
    assert f".code .k {{ color: {themes.LIGHT[Keyword].upper()}; font-weight: bold }}" in light
    assert "color-scheme: light" in template("report.css")
