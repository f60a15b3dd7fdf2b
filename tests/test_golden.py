"""Golden ranges: the recording rule, range checks and the messages users see."""

import pytest
import yaml

from rmbench.claims import HOLDS, evaluate_claim
from rmbench.claims.stats import no_interval
from rmbench.golden import (
    GoldenEntryMissing,
    build_golden,
    check_metrics,
    format_checks,
    golden_entry,
    write_golden,
)
from tests.study_factory import make_study
from tests.test_claims import SPECIALISED


def _record(seeds=(0, 1, 2)):
    results, backbone_of = [], {}
    for seed in seeds:
        study = make_study(SPECIALISED, seed=seed)
        result = evaluate_claim("specialisation", study)
        results.append(result)
        backbone_of[result.model] = study.backbone
    return build_golden("test", results, backbone_of), results


def test_recorded_range_contains_every_seed():
    golden, results = _record()
    entry = golden["claims"]["specialisation"]["synthetic@2L"]
    assert entry["reproduces"] is True
    assert entry["verdict"] == HOLDS
    for result in results:
        assert all(check.ok for check in check_metrics(result, entry))
    metric = entry["metrics"]["gap_on_helpful_tasks"]
    assert metric["n_seeds"] == 3
    assert metric["range"][0] < metric["mean"] < metric["range"][1]


def test_out_of_range_value_prints_table():
    golden, results = _record()
    entry = golden["claims"]["specialisation"]["synthetic@2L"]
    moved = results[0]
    moved.metrics["gap_on_helpful_tasks"] = no_interval(-0.9)
    checks = check_metrics(moved, entry)
    failing = [c for c in checks if not c.ok]
    assert [c.metric for c in failing] == ["gap_on_helpful_tasks"]
    table = format_checks(checks)
    assert "FAIL" in table.splitlines()[2]
    assert "-0.9" in table


def test_missing_entry_names_record_command():
    with pytest.raises(GoldenEntryMissing, match="rmbench golden record --profile tiny"):
        golden_entry({}, "specialisation", "synthetic@2L", "tiny")


def test_write_golden_adds_quarantine(tmp_path):
    swapped = dict(SPECIALISED, helpful=SPECIALISED["harmless"], harmless=SPECIALISED["helpful"])
    study = make_study(swapped)
    result = evaluate_claim("specialisation", study)
    golden = build_golden("test", [result], {result.model: study.backbone})
    path = write_golden(golden, tmp_path)
    recorded = yaml.safe_load(path.read_text())
    assert recorded["claims"]["specialisation"]["synthetic@2L"]["reproduces"] is False
    quarantine = (tmp_path / "QUARANTINE.md").read_text()
    assert "| test | specialisation | synthetic@2L | strict xfail |" in quarantine
