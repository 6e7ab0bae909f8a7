"""The JAX versions jaxexplain supports, checked before JAX is imported: an unsupported or broken
install gets one clear line and exit 2, never an AttributeError from deep inside a JAX module.

The range is the one pyproject.toml states (tests/test_versions.py keeps the two equal)."""

from __future__ import annotations

import importlib.metadata
import re

from jaxexplain.errors import UsageError

# The oldest supported release (major, minor, patch): 0.4.38, the last 0.4, which many GPU and TPU
# images still pin; and the first release past the newest supported (0.13.0).
OLDEST_JAX = (0, 4, 38)
PAST_NEWEST_JAX = (0, 13, 0)


def _dotted(release: tuple[int, int, int]) -> str:
    """0.4.38 for (0, 4, 38)."""
    return ".".join(str(part) for part in release)


def oldest_requirement() -> str:
    """The lower bound as pip spells it: "0.4.38"."""
    return _dotted(OLDEST_JAX)


def newest_bound() -> str:
    """The exclusive upper bound as pip spells it: "0.13"."""
    return f"{PAST_NEWEST_JAX[0]}.{PAST_NEWEST_JAX[1]}"


def supported_range() -> str:
    """The range in words: "0.4.38 to 0.12.x"."""
    return f"{_dotted(OLDEST_JAX)} to {PAST_NEWEST_JAX[0]}.{PAST_NEWEST_JAX[1] - 1}.x"


def release_of(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a version string such as "0.10.2", "0.12.1.dev20261101" or
    "0.11" (patch 0): the patch matters because the range starts inside the 0.4 series."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return (int(match[1]), int(match[2]), int(match[3] or 0)) if match else None


def check_jax() -> str:
    """The installed JAX's version, or a usage error that says what is needed and what was found:
    JAX missing, outside the range, or failing to import (a jaxlib that does not match)."""
    try:
        version = importlib.metadata.version("jax")
    except importlib.metadata.PackageNotFoundError:
        raise UsageError(
            f"jaxexplain needs jax {supported_range()}, and no jax is installed "
            f"(pip install 'jax>={oldest_requirement()},<{newest_bound()}')"
        ) from None
    release = release_of(version)
    if release is None or not OLDEST_JAX <= release < PAST_NEWEST_JAX:
        raise UsageError(
            f"jaxexplain needs jax {supported_range()}, found jax {version} "
            f"(pip install 'jax>={oldest_requirement()},<{newest_bound()}')"
        )
    try:
        import jax  # noqa: F401  # the import itself checks jaxlib against jax
    except Exception as exc:
        raise UsageError(
            f"jax {version} is installed but cannot be imported ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'}); "
            f"reinstall jax and jaxlib of one release"
        ) from None
    return version
