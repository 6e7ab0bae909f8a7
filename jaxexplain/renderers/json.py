"""JSON renderer: the report's versioned document."""

from __future__ import annotations

import json
from typing import Any

from jaxexplain.report import to_dict


def render(report: Any, *, color: bool = False, width: int = 100) -> str:
    """The report as indented JSON (colors and width do not apply)."""
    return json.dumps(to_dict(report), indent=2)
