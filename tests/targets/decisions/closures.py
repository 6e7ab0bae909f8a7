"""Closures made by factories that returned before the trace (a purejaxrl-style `make_train`),
and functions whose arguments a `functools.partial` holds, for the resolver tests."""

from __future__ import annotations

from typing import Any

THRESHOLD = 0.5


def make_policy(config: dict[str, Any], width: int = 2) -> Any:
    anneal = config["ANNEAL_LR"]
    limit = THRESHOLD
    steps = width * 2

    def policy(x: float) -> int:
        count = 0
        if config["ANNEAL_LR"]:
            count += 1
        if anneal:
            count += 1
        if config.get("CLIP", False):
            count += 1
        if x > limit:
            count += 1
        for _ in range(steps):
            count += 1
        return count

    return policy


def make_stepper(settings: Any) -> Any:
    def step(x: float) -> float:
        def inner(y: float) -> float:
            if settings.lr > 0.1:
                return y * settings.lr
            return y

        return inner(x)

    return step


def scaled(config: dict[str, Any], x: float, *, center: bool = False) -> float:
    if config["scale"] > 1:
        x = x / config["scale"]
    if center:
        x = x - 1.0
    return x
