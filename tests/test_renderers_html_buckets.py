"""The HTML of a buckets recommendation: each size with its calls and the edge it pads to."""

from __future__ import annotations

import re

from jaxexplain.renderers.html.buckets import buckets_body
from jaxexplain.report import Buckets, ExportCheck, Recommendation

BUCKETS = Buckets(
    path="x.shape[0]",
    sizes={"3": 1, "5": 2, "9": 1},
    edges=(5, 9),
    compiles_now=3,
    compiles_with=2,
    compile_seconds_now=1.5,
    compile_seconds_with=0.8,
    padding_flops_ratio=0.2,
    export=ExportCheck(True),
)


def test_sizes_table_pads_each_size_to_the_smallest_edge_that_holds_it() -> None:
    html = buckets_body(Recommendation("step", "buckets", "step: <x>", True, buckets=BUCKETS))
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", html)
    assert rows == [("3", "1", "5"), ("5", "2", "5"), ("9", "1", "9")]
    assert "step: &lt;x&gt;" in html
    assert "jax.export with a symbolic x.shape[0] works" in html
