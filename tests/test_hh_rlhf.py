"""Tests of the HH-RLHF loader, its cleaning, the split and the subsampling."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from rmbench.data import hh_rlhf
from rmbench.data.hh_rlhf import (
    HELPFUL_SUBSETS,
    HH_SUBSETS,
    OBJECTIVE_SUBSETS,
    PreferencePair,
    data_fingerprint,
    load_hh_rlhf,
    load_hh_subset,
    objective_pairs,
    part_of,
    prompt_uid,
    subsample,
)
from rmbench.data.paths import DATA_DIR_ENV, resolve_data_dir

# Records in the official test split files, before any drop.
RAW_TEST_RECORDS = {
    "helpful-base": 2354,
    "helpful-online": 1137,
    "helpful-rejection-sampled": 2749,
    "harmless-base": 2312,
}

PROMPT = "\n\nHuman: What is 2+2?\n\nAssistant:"


def _record(question: str, chosen: str, rejected: str) -> dict[str, str]:
    prompt = f"\n\nHuman: {question}\n\nAssistant:"
    return {"chosen": f"{prompt} {chosen}", "rejected": f"{prompt} {rejected}"}


def _write_subset(root: Path, subset: str, lines: list[str], split: str = "test") -> Path:
    """Write raw lines as <root>/hh-rlhf/<subset>/<split>.jsonl.gz and return the path."""
    path = root / "hh-rlhf" / subset / f"{split}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
    return path


@pytest.fixture(autouse=True)
def _no_data_dir_env(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


# ----------------------------------------------------------------- real files


@pytest.mark.parametrize("subset", HH_SUBSETS)
def test_real_subset_raw_counts(data_dir, subset):
    pairs, stats = load_hh_subset(subset, "test", data_dir)

    assert stats.records == RAW_TEST_RECORDS[subset]
    assert stats.invalid_lines == []
    assert stats.kept == len(pairs)
    assert stats.kept + sum(stats.dropped.values()) == stats.records
    # Drops are rare in the official files; a jump would signal a parsing bug.
    assert stats.kept >= 0.98 * stats.records


def test_real_pairs_are_parsed(data_dir):
    pairs = load_hh_rlhf("harmless-base", data_dir=data_dir)

    for pair in pairs:
        assert pair.prompt.startswith("\n\nHuman:")
        assert pair.prompt.endswith("\n\nAssistant:")
        assert pair.chosen.strip()
        assert pair.chosen != pair.rejected
        assert pair.subset == "harmless-base"
        assert pair.uid == prompt_uid(pair.prompt)


def test_objective_subsets():
    assert OBJECTIVE_SUBSETS["helpful"] == (
        "helpful-base",
        "helpful-online",
        "helpful-rejection-sampled",
    )
    assert OBJECTIVE_SUBSETS["harmless"] == ("harmless-base",)
    assert OBJECTIVE_SUBSETS["mixed"] == HELPFUL_SUBSETS + ("harmless-base",)


@pytest.mark.parametrize("objective", ["helpful", "harmless", "mixed"])
def test_split_has_no_shared_prompt(data_dir, objective):
    train = objective_pairs(objective, "train", data_dir)
    heldout = objective_pairs(objective, "heldout", data_dir)
    everything = load_hh_rlhf(OBJECTIVE_SUBSETS[objective], data_dir=data_dir)

    assert not {pair.prompt for pair in train} & {pair.prompt for pair in heldout}
    assert len(train) + len(heldout) == len(everything)
    assert 0.15 < len(heldout) / len(everything) < 0.25


def test_mixed_train_is_union_of_single_objectives(data_dir):
    for limit in (None, 50):
        helpful = objective_pairs("helpful", "train", data_dir, limit=limit, seed=3)
        harmless = objective_pairs("harmless", "train", data_dir, limit=limit, seed=3)
        mixed = objective_pairs("mixed", "train", data_dir, limit=limit, seed=3)

        assert mixed == helpful + harmless


def test_limit_is_seeded_and_nested(data_dir):
    first = objective_pairs("helpful", "train", data_dir, limit=40, seed=0)
    again = objective_pairs("helpful", "train", data_dir, limit=40, seed=0)
    other_seed = objective_pairs("helpful", "train", data_dir, limit=40, seed=1)
    smaller = objective_pairs("helpful", "train", data_dir, limit=10, seed=0)

    assert len(first) == 40
    assert first == again
    assert first != other_seed
    assert set(smaller) <= set(first)


def test_limit_draws_from_all_helpful_subsets(data_dir):
    pairs = objective_pairs("helpful", "train", data_dir, limit=300, seed=0)

    assert {pair.subset for pair in pairs} == set(HELPFUL_SUBSETS)


def test_heldout_fraction_is_configurable(data_dir):
    default = objective_pairs("harmless", "heldout", data_dir)
    larger = objective_pairs("harmless", "heldout", data_dir, heldout_fraction=0.5)

    assert set(default) <= set(larger)
    assert len(larger) > 2 * len(default)


def test_fingerprint_tracks_content_and_order(data_dir):
    pairs = objective_pairs("harmless", "heldout", data_dir, limit=20)
    changed = [PreferencePair(p.prompt, p.chosen + "!", p.rejected, p.subset, p.uid) for p in pairs[:1]]

    assert data_fingerprint(pairs) == data_fingerprint(list(pairs))
    assert len(data_fingerprint(pairs)) == 64
    assert data_fingerprint(pairs) != data_fingerprint(pairs[::-1])
    assert data_fingerprint(pairs) != data_fingerprint(changed + pairs[1:])


# ----------------------------------------------------------------- split and subsample


def test_part_of_is_deterministic_by_prompt():
    uid = prompt_uid(PROMPT)

    assert part_of(uid) == part_of(prompt_uid(PROMPT))
    assert part_of(uid, heldout_fraction=1.0) == "heldout"
    assert part_of(uid, heldout_fraction=0.0) == "train"


def test_subsample_keeps_input_order():
    pairs = [PreferencePair(PROMPT, f"a{i}", "b", "helpful-base", str(i)) for i in range(30)]

    sample = subsample(pairs, 10, seed=5)

    assert len(sample) == 10
    assert sample == sorted(sample, key=pairs.index)
    assert subsample(pairs, None) == pairs
    assert subsample(pairs, 100) == pairs


def test_limit_above_available_logs_warning(tmp_path, caplog):
    _write_subset(tmp_path, "harmless-base", [json.dumps(_record("q", "yes", "no"))])

    with caplog.at_level(logging.WARNING, logger="rmbench.data.hh_rlhf"):
        pairs = objective_pairs("harmless", "train", tmp_path, limit=5, heldout_fraction=1e-9)

    assert len(pairs) == 1
    assert "requested 5 harmless train pairs, but only 1 exist, so all" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"objective": "safety", "part": "train"}, "unknown objective"),
        ({"objective": "helpful", "part": "test"}, "unknown part"),
        ({"objective": "helpful", "part": "train", "heldout_fraction": 1.5}, "heldout_fraction"),
    ],
)
def test_objective_pairs_rejects_invalid_arguments(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        objective_pairs(data_dir=tmp_path, **arguments)


# ----------------------------------------------------------------- malformed input


def test_invalid_lines_dropped_with_logged_count(tmp_path, caplog):
    lines = [
        json.dumps(_record("one", "yes", "no")),
        "{not json",
        json.dumps(_record("two", "yes", "no")),
        json.dumps(["a", "list"]),
        json.dumps({"chosen": "only chosen"}),
        "",
        json.dumps(_record("three", "yes", "no"))[:25],
    ]
    path = _write_subset(tmp_path, "helpful-base", lines)

    with caplog.at_level(logging.WARNING, logger="rmbench.data.hh_rlhf"):
        pairs, stats = load_hh_subset("helpful-base", "test", tmp_path)

    assert len(pairs) == 2
    assert stats.records == 6
    assert stats.invalid_lines == [2, 4, 5, 7]
    assert str(path) in caplog.text
    assert "dropped 4 of 6 lines" in caplog.text
    assert "lines 2, 4, 5, 7" in caplog.text


def test_malformed_pairs_dropped_with_counts_per_reason(tmp_path, caplog):
    lines = [
        json.dumps(_record("fine", "yes", "no")),
        json.dumps(_record("same", "yes", "yes")),
        json.dumps(_record("same again", "ok", "ok")),
        json.dumps(_record("empty", "", "no")),
        json.dumps({"chosen": PROMPT + " a", "rejected": "\n\nHuman: other\n\nAssistant: b"}),
        json.dumps({"chosen": "\n\nHuman: no reply", "rejected": PROMPT + " b"}),
    ]
    _write_subset(tmp_path, "harmless-base", lines)

    with caplog.at_level(logging.WARNING, logger="rmbench.data.hh_rlhf"):
        pairs, stats = load_hh_subset("harmless-base", "test", tmp_path)

    assert len(pairs) == 1
    assert stats.dropped == {
        "identical_responses": 2,
        "empty_response": 1,
        "dialogue_mismatch": 1,
        "no_final_assistant_turn": 1,
    }
    assert "dropped 5 malformed pairs of 6" in caplog.text
    assert "identical_responses=2" in caplog.text
    assert "no_final_assistant_turn=1" in caplog.text


def test_truncated_gzip_raises_with_file_and_line(tmp_path):
    path = _write_subset(
        tmp_path, "helpful-online", [json.dumps(_record(f"q{i}", "yes", "no")) for i in range(200)]
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(ValueError, match="truncated or corrupt after line") as raised:
        load_hh_subset("helpful-online", "test", tmp_path)

    assert str(path) in str(raised.value)


def test_plain_jsonl_file_is_accepted(tmp_path):
    path = tmp_path / "hh-rlhf" / "harmless-base" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_record("q", "yes", "no")) + "\n", encoding="utf-8")

    pairs, stats = load_hh_subset("harmless-base", "test", tmp_path)

    assert [(pair.chosen, pair.rejected) for pair in pairs] == [("yes", "no")]
    assert stats.source == str(path.resolve())


def test_repeated_load_returns_independent_copies(tmp_path):
    _write_subset(tmp_path, "harmless-base", [json.dumps(_record("q", "yes", "no"))])

    first, first_stats = load_hh_subset("harmless-base", "test", tmp_path)
    first.clear()
    first_stats.dropped["edited"] = 1
    second, second_stats = load_hh_subset("harmless-base", "test", tmp_path)

    assert len(second) == 1
    assert "edited" not in second_stats.dropped


# ----------------------------------------------------------------- data directory


def test_missing_data_dir_names_path_and_fix(tmp_path):
    missing = tmp_path / "nowhere"

    with pytest.raises(FileNotFoundError) as raised:
        load_hh_subset("harmless-base", "test", missing)

    assert str(missing) in str(raised.value)
    assert DATA_DIR_ENV in str(raised.value)
    assert "--data-dir" in str(raised.value)


def test_missing_subset_file_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        load_hh_subset("harmless-base", "train", tmp_path)

    assert str(tmp_path / "hh-rlhf" / "harmless-base" / "train.jsonl.gz") in str(raised.value)


def test_unknown_subset_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown HH-RLHF subset"):
        load_hh_subset("red-team", "test", tmp_path)


def test_env_var_sets_data_dir(tmp_path, monkeypatch):
    _write_subset(tmp_path, "harmless-base", [json.dumps(_record("q", "yes", "no"))])
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))

    pairs = load_hh_rlhf("harmless-base")

    assert resolve_data_dir() == tmp_path
    assert len(pairs) == 1


def test_explicit_data_dir_beats_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "missing"))

    assert resolve_data_dir(tmp_path) == tmp_path


def test_empty_env_var_means_hub(monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, "")

    assert resolve_data_dir() is None


def test_hub_branch_calls_load_dataset(monkeypatch, caplog):
    import datasets

    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return [_record("hub", "yes", "no"), _record("hub2", "same", "same")]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)

    with caplog.at_level(logging.WARNING, logger="rmbench.data.hh_rlhf"):
        pairs, stats = load_hh_subset("helpful-online", "train")

    assert calls == [("Anthropic/hh-rlhf", {"data_dir": "helpful-online", "split": "train"})]
    assert [pair.chosen for pair in pairs] == ["yes"]
    assert stats.records == 2
    assert stats.dropped == {"identical_responses": 1}
    assert "Anthropic/hh-rlhf:helpful-online" in caplog.text


def test_cache_is_keyed_by_file_identity(tmp_path):
    path = _write_subset(tmp_path, "harmless-base", [json.dumps(_record("q", "yes", "no"))])
    load_hh_subset("harmless-base", "test", tmp_path)

    _write_subset(tmp_path, "harmless-base", [json.dumps(_record(f"q{i}", "yes", "no")) for i in range(3)])
    pairs, _ = load_hh_subset("harmless-base", "test", tmp_path)

    assert path.exists()
    assert len(pairs) == 3
    assert hh_rlhf._load_local_subset.cache_info().currsize >= 1
