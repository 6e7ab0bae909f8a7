"""`jaxexplain merge` on the command line: text, JSON (valid against its schema) and HTML, exit 1
where processes diverge, bad input exiting 2 with one paragraph and a valid JSON document."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from jaxexplain import schema
from jaxexplain.cli import app
from jaxexplain.report import WatchMerge
from tests.test_watching_merge import watched

runner = CliRunner()


def write_reports(tmp_path: Path, *runs: tuple[int, ...]) -> list[str]:
    """One watch document per run of `square_sum` over the sizes given, as a process writes it."""
    paths = []
    for index, sizes in enumerate(runs):
        report, _ = watched(*sizes)
        path = tmp_path / f"w.p{index}.json"
        path.write_text(report.to_json())
        paths.append(str(path))
    return paths


def test_text_names_the_diverging_process_and_exits_1(tmp_path) -> None:
    paths = write_reports(tmp_path, (8,), (8, 3))
    result = runner.invoke(app, ["merge", *paths, "--color", "never"])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "process 1 compiled square_sum a 2nd time (shape x [8] -> [3]" in text
    assert "process 0 did not: the collectives of that program will wait forever" in text


def test_json_is_the_watch_merge_document_and_validates(tmp_path) -> None:
    paths = write_reports(tmp_path, (8, 4), (8, 4))
    result = runner.invoke(app, ["merge", *paths, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(schema.schema_for("watch-merge")).validate(document)
    merged = WatchMerge.from_dict(document)
    assert [p.file for p in merged.processes] == paths
    assert merged.functions[0].compiles == {"0": 2, "1": 2} and merged.divergences == ()


def test_html_links_the_diverging_function_to_its_divergence(tmp_path) -> None:
    paths = write_reports(tmp_path, (8, 4), (8, 5))
    out = tmp_path / "merge.html"
    result = runner.invoke(app, ["merge", *paths, "-o", str(out)])
    assert result.exit_code == 1, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert 'href="#divergence-0"' in page and 'id="divergence-0"' in page


def test_a_file_that_is_no_watch_report_exits_2_with_a_json_document(tmp_path) -> None:
    bad = tmp_path / "trace.json"
    bad.write_text(json.dumps({"schema": "jaxexplain.trace/1"}))
    result = runner.invoke(app, ["merge", str(bad), "--format", "json"])
    assert result.exit_code == 2
    assert f"{bad} is not a watch report that jaxexplain can read" in result.stderr
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(schema.schema_for("watch-merge")).validate(document)


def test_no_files_is_a_usage_error() -> None:
    result = runner.invoke(app, ["merge"])
    assert result.exit_code == 2
    assert "name the watch reports to merge" in result.stderr
