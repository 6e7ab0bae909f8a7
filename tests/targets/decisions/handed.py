"""Plain Python where a helper receives its arguments through a library-like function of the
standard library (`functools.singledispatch`'s wrapper), so that no call in the source says
what the arguments were, and the objects themselves must."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np

from jaxexplain.decisions.provenance import Provenance, provenance


@dataclass
class Config:
    act: str
    depth: int


@dataclass
class Model:
    config: Config
    weights: Any


@functools.singledispatch
def widen(config: Any, train: bool) -> int:
    """Reached through singledispatch's wrapper: decides on a field of what it was handed."""
    if config.depth > 1:
        return 2 if train else 1
    return 0


def forward(depth: int, train: bool) -> int:
    """Builds a model and hands its config on to `widen` through the dispatch wrapper."""
    model = Model(Config("gelu", depth), np.ones(3))
    return widen(model.config, train)


def handed(config: Config, flag: bool, weights: Any) -> tuple[FrameType, FrameType]:
    """The frame of this call and its caller's."""
    return sys._getframe(), sys._getframe(1)


def holder() -> Provenance:
    """Where the objects `handed` received came from among this frame's locals."""
    model = Model(Config("gelu", 2), np.ones(3))
    train = True
    frame, caller = handed(model.config, train, model.weights)
    return provenance(frame, caller)
