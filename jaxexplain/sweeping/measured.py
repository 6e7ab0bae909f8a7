"""The live results of a sweep's points, kept while its findings are made."""

from __future__ import annotations

from dataclasses import dataclass

from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import SweepAxis, SweepPoint, TraceReport
from jaxexplain.tracing.stages import Target


@dataclass(frozen=True)
class Measured:
    """The live results of a sweep's points, in order: plans and full trace reports."""

    target: Target
    axes: tuple[SweepAxis, ...]
    plans: tuple[CallPlan, ...]
    reports: tuple[TraceReport, ...]
    points: tuple[SweepPoint, ...]
