"""pyproject.toml, LICENSE and the Makefile: what an install gets (the license, the typed marker,
the pytest plugin, classifiers that match the Pythons supported) and what the demo installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_license_file_is_the_apache_license_the_metadata_names() -> None:
    assert PROJECT["project"]["license"] == "Apache-2.0"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_the_setuptools_floor_reads_a_license_expression() -> None:
    (requirement,) = PROJECT["build-system"]["requires"]
    floor = re.fullmatch(r"setuptools>=(\d+)", requirement)
    assert floor is not None and int(floor[1]) >= 77


def test_classifiers_name_every_supported_python() -> None:
    oldest = re.fullmatch(r">=3\.(\d+)", PROJECT["project"]["requires-python"])
    assert oldest is not None
    minors = {
        int(m[1])
        for c in PROJECT["project"]["classifiers"]
        if (m := re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", c))
    }
    assert min(minors) == int(oldest[1]) and "Typing :: Typed" in PROJECT["project"]["classifiers"]
    assert set(PROJECT["project"]["urls"]) >= {"Homepage", "Source", "Issues"}


def test_the_package_data_ships_the_typed_marker_and_the_page_templates() -> None:
    data = PROJECT["tool"]["setuptools"]["package-data"]["jaxexplain"]
    assert "py.typed" in data and (ROOT / "jaxexplain" / "py.typed").is_file()
    assert "renderers/html/templates/*" in data


def test_the_dev_extra_has_what_the_notebook_and_schema_tests_import() -> None:
    dev = {re.split(r"[<>=]", d)[0] for d in PROJECT["project"]["optional-dependencies"]["dev"]}
    assert {"pytest", "nbclient", "nbformat", "ipykernel", "jsonschema"} <= dev


def test_the_demo_installs_jaxexplain_alone_with_pips_progress() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(DEMO_STAMP): pyproject.toml\n", 1)[1].split("\n\n", 1)[0]
    installs = [line for line in recipe.splitlines() if "pip install" in line]
    assert installs[-1].strip().endswith("pip install -e .")
    assert not any("--quiet" in line or "-q " in line or "[dev" in line for line in installs)
    assert re.search(r"^demo: \$\(DEMO_STAMP\)", makefile, re.M)
