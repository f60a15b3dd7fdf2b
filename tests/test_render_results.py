"""docs/render_results.py: the page splice and the errors a user sees on bad inputs."""

import importlib.util
import json
from pathlib import Path

import pytest

from tests.study_factory import make_study

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "render_results.py"
module_spec = importlib.util.spec_from_file_location("render_results", SCRIPT)
render_results = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(render_results)


def test_splice_keeps_hand_written_part():
    page = "# Title\n\nHand-written.\n\n" + render_results.MARKER + "\n\nold tables\n"
    spliced = render_results.splice(page, "new tables\n")
    assert spliced.startswith("# Title\n\nHand-written.\n\n")
    assert "old tables" not in spliced
    assert spliced.endswith(render_results.MARKER + "\n\nnew tables\n")


def test_splice_adds_marker_to_new_page():
    spliced = render_results.splice("# Title\n", "tables\n")
    assert spliced == "# Title\n\n" + render_results.MARKER + "\n\ntables\n"


def test_missing_report_names_command(tmp_path):
    with pytest.raises(render_results.RenderError, match="rmbench verify --profile tiny"):
        render_results.render("tiny", tmp_path / "no-report", tmp_path / "page.md")


def test_corrupt_verdicts_names_file(tmp_path):
    (tmp_path / "verdicts.json").write_text("{not json")
    with pytest.raises(render_results.RenderError, match="verdicts.json is not valid JSON"):
        render_results.render("tiny", tmp_path, tmp_path / "page.md")


def test_report_without_studies_rejected(tmp_path):
    (tmp_path / "verdicts.json").write_text("[]")
    with pytest.raises(render_results.RenderError, match="no study results"):
        render_results.render("tiny", tmp_path, tmp_path / "page.md")


def test_study_of_other_profile_rejected(tmp_path):
    (tmp_path / "verdicts.json").write_text(json.dumps([]))
    study = make_study({"helpful": {"helpful": 0.7, "harmless": 0.4}})
    (tmp_path / "studies").mkdir()
    study.save(tmp_path / "studies" / "study.json")
    with pytest.raises(render_results.RenderError, match=f"belongs to profile '{study.profile}'"):
        render_results.render("tiny", tmp_path, tmp_path / "page.md")
    assert not (tmp_path / "page.md").exists()


def test_page_must_be_markdown(tmp_path):
    with pytest.raises(render_results.RenderError, match="ending in .md"):
        render_results.render("tiny", tmp_path, tmp_path / "results")
    assert not (tmp_path / "results").exists()
