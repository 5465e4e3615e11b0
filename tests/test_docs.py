"""The docs that are generated stay true: the configuration reference is the schema's, and
run tables land between their markers."""

import importlib.util
import os

from .conftest import ROOT


def _load(name):
    """A script of scripts/ as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_module():
    return _load("config_reference")


def test_the_configuration_reference_is_the_schemas():
    """docs/configuration.md is what scripts/config_reference.py writes from the schema: a key,
    default or description changed in the schema without regenerating it fails here."""
    ref = _reference_module()
    assert ref.OUT.read_text() == ref.reference(), \
        "docs/configuration.md is out of date: run python scripts/config_reference.py"


def test_every_config_key_is_in_the_reference_with_a_description():
    """Every key the schema validates has a row, and every row says what the key does."""
    import yaml

    ref = _reference_module()
    schema = yaml.safe_load(ref.SCHEMA.read_text())
    text = ref.reference()

    def keys(properties, prefix):
        for name, raw in properties.items():
            node = ref._resolve(raw, schema)
            yield f"{prefix}{name}", node
            yield from keys(node.get("properties", {}), f"{prefix}{name}.")

    found = list(keys(schema["properties"], ""))
    found += [(f"variants.<name>.{k}", v) for k, v in schema["$defs"]["train_keys"].items()]
    assert len(found) > 100
    for key, node in found:
        assert f"| `{key}` |" in text or f"## `{key}`" in text, key
        if not node.get("properties"):
            assert node.get("description"), f"config key {key} has no description in the schema"


def test_result_tables_go_between_their_markers_with_a_stamp(tmp_path, monkeypatch):
    """What a run's report wrote replaces the block between its page's markers, text around it
    untouched; a table whose page has no markers is appended under a heading; a robustness
    table older than the clean summaries is left out, with its figure."""
    tables = _load("results_tables")
    report = tmp_path / "results" / "demo" / "report"
    report.mkdir(parents=True)
    (report / "comparison.md").write_text("| variant | ROC-AUC |\n|---|---|\n| a | 0.91 |\n")
    (report / "robustness.md").write_text("# Robustness\n\n| variant | clean |\n|---|---|\n| a | 0.91 |\n")
    (report / "forest.png").write_bytes(b"forest 1")
    (report / "robustness.png").write_bytes(b"robustness 1")
    (tmp_path / "docs").mkdir()
    results, statistics = tmp_path / "results.md", tmp_path / "statistics.md"
    results.write_text("intro\n<!-- results:demo -->\nold table\n<!-- /results:demo -->\nafter\n")
    statistics.write_text("robustness prose\n")
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    monkeypatch.setattr(tables, "commit", lambda: "c0ffee1")
    pages = {"comparison.md": results, "robustness.md": statistics}
    monkeypatch.setattr(tables, "TABLES", {name: (marker, pages[name], heading)
                                           for name, (marker, _, heading) in tables.TABLES.items()})

    assert tables.main([]) == 0
    text = results.read_text()
    assert text.startswith("intro\n<!-- results:demo -->\n`results/demo/report/comparison.md` "
                           "as written ")
    assert "| a | 0.91 |\n<!-- /results:demo -->\nafter\n" in text and "old table" not in text
    appended = statistics.read_text()
    assert appended.startswith("robustness prose\n\n### `demo` on degraded audio, as last run\n")
    assert "<!-- robustness:demo -->" in appended and "| variant | clean |" in appended
    assert "# Robustness" not in appended  # the stamp names the file; its title is no heading
    assert (tmp_path / "docs" / "demo_forest.png").read_bytes() == b"forest 1"
    assert (tmp_path / "docs" / "robustness_demo.png").read_bytes() == b"robustness 1"
    assert tables.main([]) == 0 and statistics.read_text().count("<!-- robustness:demo -->") == 1

    # a new commit alone rewrites nothing: the block keeps the commit it was put here at
    monkeypatch.setattr(tables, "commit", lambda: "dec0de2")
    assert tables.main([]) == 0 and "put here at commit c0ffee1" in results.read_text()

    # a later clean run leaves the robustness table behind: it is not stamped as the run's
    summary = tmp_path / "results" / "demo" / "eval" / "a" / "metrics.json"
    summary.parent.mkdir(parents=True)
    summary.write_text('{"summarized_by": "code 1"}')
    (report / "robustness.md").write_text("| variant | clean |\n|---|---|\n| a | 0.50 |\n")
    (report / "robustness.png").write_bytes(b"robustness 2")
    os.utime(report / "robustness.md", (1, 1))
    assert tables.main([]) == 0
    assert "0.50" not in statistics.read_text() and "(code 1)" in results.read_text()
    assert (tmp_path / "docs" / "robustness_demo.png").read_bytes() == b"robustness 1"

    # rerun: the robustness stamp names the code that summarized the deformed parts
    deformed = summary.parent / "robustness" / "noise" / "metrics.json"
    deformed.parent.mkdir(parents=True)
    deformed.write_text('{"summarized_by": "code 2"}')
    (report / "robustness.md").write_text("| variant | clean |\n|---|---|\n| a | 0.50 |\n")
    assert tables.main([]) == 0
    assert "0.50" in statistics.read_text() and "(code 2)" in statistics.read_text()


def test_the_docs_pages_hold_the_demos_markers():
    """Without its markers a page would get the demo's table appended at its end, away from
    the prose that reads it."""
    tables = _load("results_tables")
    for marker, page, _ in tables.TABLES.values():
        text = page.read_text()
        assert f"<!-- {marker}:demo -->" in text and f"<!-- /{marker}:demo -->" in text, page
