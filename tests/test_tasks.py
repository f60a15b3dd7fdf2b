"""Tests of the task registry and loaders, on the real offline files and on hub-schema mirrors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.tasks import (
    FORMATS,
    ORIENTATIONS,
    TASKS,
    EvalItem,
    TaskUnavailable,
    UnknownTask,
    format_task_table,
    get_task_spec,
    load_task,
    task_status,
)
from rmbench.tasks import readers

# Items per task in the offline copy. The first eleven match the upstream benchmarks; the
# rebuilt tasks' counts follow from their documented rules and pin those rules down.
OFFLINE_COUNTS = {
    "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134,
    "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46,
    "rm-bench-chat": 129,
    "rm-bench-safety-refuse": 284,
    "rm-bench-safety-response": 157,
    "rm-bench-code": 228,
    "mt-bench-human-llmbar": 200,
    "rmb-bon-helpfulness": 2109,
    "rmb-bon-harmlessness": 1677,
    "alpacaeval-easy-reconstructed": 802,
    "alpacaeval-length-reconstructed": 804,
    "alpacaeval-hard-reconstructed": 800,
    "xstest-should-refuse-reconstructed": 161,
    "xstest-should-respond-reconstructed": 161,
}

# Tasks whose data is only on the hub (or in files not in the offline copy).
OFFLINE_UNAVAILABLE = {
    "alpacaeval-easy",
    "alpacaeval-length",
    "alpacaeval-hard",
    "mt-bench-easy",
    "mt-bench-med",
    "mt-bench-hard",
    "math-prm",
    "refusals-dangerous",
    "refusals-offensive",
    "xstest-should-refuse",
    "xstest-should-respond",
    "donotanswer",
    "rewardbench2-factuality",
    "rewardbench2-precise-if",
    "rewardbench2-math",
    "rewardbench2-focus",
    "rewardbench2-safety",
    "rewardbench2-ties",
    "rm-bench-math",
}

RESPONSE_COUNTS = {"pairwise": (1, 1), "style_matrix": (3, 3)}


class _FakeHubDataset:
    def __init__(self, rows):
        self.rows = rows

    def to_list(self):
        return list(self.rows)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """Unset the data directory variable, forbid hub downloads, and reset the row caches."""
    import datasets

    def forbidden_load_dataset(*args, **kwargs):
        raise AssertionError(f"unexpected hub download: load_dataset{args}")

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", forbidden_load_dataset)
    readers.clear_caches()
    yield
    readers.clear_caches()


def _fake_hub(monkeypatch, tables: dict[str, list[dict]]):
    """Serve hub datasets from in-memory rows; returns the list of requested (repo, split)."""
    import datasets

    calls = []

    def fake_load_dataset(path, split=None, **kwargs):
        calls.append((path, split))
        return _FakeHubDataset(tables[path])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    return calls


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# ----------------------------------------------------------------- registry


def test_registry_specs_are_consistent():
    assert set(OFFLINE_COUNTS) | OFFLINE_UNAVAILABLE == set(TASKS)
    for name, spec in TASKS.items():
        assert spec.name == name
        assert spec.orientation in ORIENTATIONS
        assert spec.format in FORMATS
        assert spec.reconstruction == name.endswith("-reconstructed")


def test_paper_grouping():
    helpful = {spec.paper_name for spec in TASKS.values() if spec.orientation == "helpful"}
    harmless = {spec.paper_name for spec in TASKS.values() if spec.orientation == "harmless"}

    assert helpful - {""} == {
        "Alp-E", "Alp-H", "Alp-L", "Chat", "Fact", "Focus", "LB-Inst", "LB-Out", "LB-Man",
        "LB-Nbr", "LB-Nat", "MT-E", "MT-H", "MT-M", "Math", "Math-PRM", "Prec-IF",
    }  # fmt: skip
    assert harmless - {""} == {"DNA", "RD", "RO", "Saf", "SafR", "SResp", "XS-Ref", "XS-Res"}


def test_unknown_task_lists_known_names():
    with pytest.raises(UnknownTask) as raised:
        load_task("llmbar-nautral")

    message = str(raised.value)
    assert "llmbar-nautral" in message
    assert "llmbar-natural" in message
    assert "rm-bench-chat" in message
    with pytest.raises(UnknownTask):
        get_task_spec("nope")


# ----------------------------------------------------------------- offline files


@pytest.mark.parametrize("name", sorted(OFFLINE_COUNTS))
def test_offline_task_counts_and_shape(data_dir, name):
    spec = TASKS[name]

    items = load_task(name, data_dir)

    assert len(items) == OFFLINE_COUNTS[name]
    assert len({item.uid for item in items}) == len(items)
    for item in items:
        assert isinstance(item, EvalItem)
        assert item.uid.startswith(f"{name}/")
        assert item.prompt.startswith("\n\nHuman: ")
        assert item.prompt.endswith("\n\nAssistant:")
        if spec.format in RESPONSE_COUNTS:
            assert (len(item.chosen), len(item.rejected)) == RESPONSE_COUNTS[spec.format]
        else:
            assert len(item.chosen) == 1
            assert len(item.rejected) >= 2


def test_offline_loads_are_deterministic(data_dir):
    assert load_task("xstest-should-refuse-reconstructed", data_dir) == load_task(
        "xstest-should-refuse-reconstructed", data_dir
    )


@pytest.mark.parametrize("name", sorted(OFFLINE_UNAVAILABLE))
def test_offline_unavailable_tasks_give_reason(data_dir, name):
    with pytest.raises(TaskUnavailable) as raised:
        load_task(name, data_dir)

    assert "not available offline" in raised.value.reason


def test_rewardbench2_reason_names_hub_and_fix(data_dir):
    with pytest.raises(TaskUnavailable) as raised:
        load_task("rewardbench2-safety", data_dir)

    assert "allenai/reward-bench-2" in raised.value.reason
    assert DATA_DIR_ENV in raised.value.reason
    assert "reward-bench-2/test.jsonl" in raised.value.reason


def test_refusal_reason_explains_rm_bench_rows(data_dir):
    with pytest.raises(TaskUnavailable) as raised:
        load_task("refusals-dangerous", data_dir)

    assert "RM-Bench" in raised.value.reason


def test_llmbar_label_picks_better_output(data_dir):
    path = data_dir / "llmbar/Dataset/LLMBar/Adversarial/GPTOut/dataset.json"
    records = json.loads(path.read_text(encoding="utf-8"))

    items = load_task("llmbar-adver-GPTOut", data_dir)

    for record, item in zip(records, items):
        better = record["output_1"] if record["label"] == 1 else record["output_2"]
        worse = record["output_2"] if record["label"] == 1 else record["output_1"]
        assert item.chosen == (better,)
        assert item.rejected == (worse,)


def test_rm_bench_keeps_style_order(data_dir):
    records = json.loads((data_dir / "rm-bench/data/chat_filtered.json").read_text(encoding="utf-8"))

    item = load_task("rm-bench-chat", data_dir)[0]

    assert item.uid == f"rm-bench-chat/{records[0]['id']}"
    assert item.chosen == tuple(records[0]["chosen"])
    assert item.rejected == tuple(records[0]["rejected"])


def _xstest_completions(data_dir: Path) -> dict[str, set[str]]:
    """Completion texts of the offline XSTest files, by final_label."""
    by_label: dict[str, set[str]] = {}
    for path in sorted((data_dir / "xstest/model_completions").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                by_label.setdefault(row["final_label"], set()).add(row["completion"])
    return by_label


def _xstest_prompt_labels(data_dir: Path) -> dict[str, str]:
    with (data_dir / "xstest/xstest_prompts.csv").open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row["label"] for row in csv.DictReader(handle)}


def test_xstest_should_respond_prefers_compliance(data_dir):
    completions = _xstest_completions(data_dir)
    labels = _xstest_prompt_labels(data_dir)

    items = load_task("xstest-should-respond-reconstructed", data_dir)

    for item in items:
        assert labels[item.uid.split("/")[1]] == "safe"
        assert item.chosen[0] in completions["1_full_compliance"]
        assert item.rejected[0] in completions["2_full_refusal"] | completions["3_partial_refusal"]


def test_xstest_should_refuse_prefers_refusal(data_dir):
    completions = _xstest_completions(data_dir)
    labels = _xstest_prompt_labels(data_dir)

    items = load_task("xstest-should-refuse-reconstructed", data_dir)

    for item in items:
        assert labels[item.uid.split("/")[1]] == "unsafe"
        assert item.chosen[0] in completions["2_full_refusal"]
        assert item.rejected[0] in completions["1_full_compliance"] | completions["3_partial_refusal"]


def test_alpacaeval_chosen_comes_from_first_generator(data_dir):
    results = data_dir / "alpaca_eval/results"
    stronger = json.loads((results / "tulu-2-dpo-70b/model_outputs.json").read_text(encoding="utf-8"))
    weaker = json.loads((results / "text_davinci_003/model_outputs.json").read_text(encoding="utf-8"))

    items = load_task("alpacaeval-hard-reconstructed", data_dir)

    assert {item.chosen[0] for item in items} <= {row["output"] for row in stronger}
    assert {item.rejected[0] for item in items} <= {row["output"] for row in weaker}


def test_task_status_offline(data_dir):
    statuses = task_status(data_dir)

    assert [status.name for status in statuses] == list(TASKS)
    for status in statuses:
        if status.name in OFFLINE_COUNTS:
            assert status.available
            assert status.n_items == OFFLINE_COUNTS[status.name]
            assert status.unavailable_reason is None
        else:
            assert not status.available
            assert status.n_items is None
            assert status.unavailable_reason


def test_format_task_table(data_dir):
    table = format_task_table(task_status(data_dir))

    assert table.splitlines()[0].split()[:3] == ["task", "paper", "orientation"]
    assert "llmbar-natural" in table
    assert "xstest-should-refuse-reconstructed" in table
    assert "not available offline" in table


# ----------------------------------------------------------------- data directory errors


def test_missing_data_dir_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=DATA_DIR_ENV):
        load_task("llmbar-natural", tmp_path / "missing")


def test_local_only_task_without_data_dir(monkeypatch):
    with pytest.raises(TaskUnavailable, match="needs a local data directory"):
        load_task("xstest-should-respond-reconstructed")


# ----------------------------------------------------------------- hub and hub-schema mirrors


REWARDBENCH_ROWS = [
    {"id": 10, "prompt": "Solve 1+1", "chosen": "2", "rejected": "3", "subset": "math-prm"},
    {"id": 11, "prompt": "Solve 2+2", "chosen": "4", "rejected": "5", "subset": "math-prm"},
    {"id": 20, "prompt": "How to steal?", "chosen": "No.", "rejected": "Sure.", "subset": "donotanswer"},
    {"id": 30, "prompt": "Summarize", "chosen": "ok", "rejected": "bad", "subset": "llmbar-natural"},
]

REWARDBENCH2_ROWS = [
    {"id": "a", "prompt": "Fact?", "chosen": ["right"], "rejected": ["w1", "w2", "w3"], "subset": "Factuality"},
    {"id": "b", "prompt": "Name a prime", "chosen": ["2", "3"], "rejected": ["4"], "subset": "Ties"},
]


def test_hub_branch_rewardbench(monkeypatch):
    calls = _fake_hub(monkeypatch, {"allenai/reward-bench": REWARDBENCH_ROWS})

    items = load_task("math-prm")
    llmbar_items = load_task("llmbar-natural")

    assert calls == [("allenai/reward-bench", "filtered")]
    assert [item.uid for item in items] == ["math-prm/10", "math-prm/11"]
    assert items[0].prompt == "\n\nHuman: Solve 1+1\n\nAssistant:"
    assert items[0].chosen == ("2",)
    assert items[0].rejected == ("3",)
    assert [item.uid for item in llmbar_items] == ["llmbar-natural/30"]


def test_hub_branch_rewardbench2(monkeypatch):
    calls = _fake_hub(monkeypatch, {"allenai/reward-bench-2": REWARDBENCH2_ROWS})

    factuality = load_task("rewardbench2-factuality")
    ties = load_task("rewardbench2-ties")

    assert calls == [("allenai/reward-bench-2", "test")]
    assert factuality[0].chosen == ("right",)
    assert factuality[0].rejected == ("w1", "w2", "w3")
    assert ties[0].chosen == ("2", "3")
    assert TASKS["rewardbench2-ties"].format == "ties"


def test_hub_branch_rm_bench_filters_domain(monkeypatch):
    rows = [
        {"id": 1, "prompt": "p", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"], "domain": "chat"},
        {"id": 2, "prompt": "q", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"], "domain": "code"},
    ]
    _fake_hub(monkeypatch, {"THU-KEG/RM-Bench": rows})

    items = load_task("rm-bench-chat")

    assert [item.uid for item in items] == ["rm-bench-chat/1"]


def test_hub_failure_becomes_unavailable(monkeypatch):
    import datasets

    def offline_load_dataset(*args, **kwargs):
        raise ConnectionError("Couldn't reach the hub")

    monkeypatch.setattr(datasets, "load_dataset", offline_load_dataset)

    with pytest.raises(TaskUnavailable, match="failed to load allenai/reward-bench") as raised:
        load_task("donotanswer")

    assert DATA_DIR_ENV in raised.value.reason


def test_local_rewardbench_mirror_jsonl(tmp_path):
    _write_jsonl(tmp_path / "reward-bench/filtered.jsonl", REWARDBENCH_ROWS)

    items = load_task("donotanswer", tmp_path)
    llmbar_items = load_task("llmbar-natural", tmp_path)

    assert [item.uid for item in items] == ["donotanswer/20"]
    assert items[0].chosen == ("No.",)
    assert [item.uid for item in llmbar_items] == ["llmbar-natural/30"]


def test_local_rewardbench_mirror_parquet_shards(tmp_path):
    import pyarrow
    import pyarrow.parquet

    shard = tmp_path / "reward-bench/data/filtered-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(REWARDBENCH_ROWS), shard)

    items = load_task("math-prm", tmp_path)

    assert [item.chosen for item in items] == [("2",), ("4",)]


def test_local_rewardbench_mirror_without_subset(tmp_path):
    _write_jsonl(tmp_path / "reward-bench/filtered.jsonl", REWARDBENCH_ROWS)

    with pytest.raises(TaskUnavailable, match="no rows with subset 'refusals-offensive'"):
        load_task("refusals-offensive", tmp_path)


def test_local_rewardbench2_mirror(tmp_path):
    _write_jsonl(tmp_path / "reward-bench-2/test.jsonl", REWARDBENCH2_ROWS)

    items = load_task("rewardbench2-factuality", tmp_path)

    assert items == [
        EvalItem(
            uid="rewardbench2-factuality/a",
            prompt="\n\nHuman: Fact?\n\nAssistant:",
            chosen=("right",),
            rejected=("w1", "w2", "w3"),
        )
    ]


def test_local_mirror_invalid_line_names_file_and_line(tmp_path):
    path = _write_jsonl(tmp_path / "reward-bench/filtered.jsonl", REWARDBENCH_ROWS[:2])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"prompt": "cut off\n')

    with pytest.raises(ValueError, match=r"filtered\.jsonl:3: invalid JSON"):
        load_task("math-prm", tmp_path)


def test_local_mirror_missing_column_names_file(tmp_path):
    _write_jsonl(tmp_path / "reward-bench/filtered.jsonl", [{"prompt": "p", "subset": "math-prm"}])

    with pytest.raises(ValueError, match="row 0 is missing the fields"):
        load_task("math-prm", tmp_path)


def test_rewardbench2_mirror_rejects_string_responses(tmp_path):
    row = {"id": "x", "prompt": "p", "chosen": "one", "rejected": "two", "subset": "Math"}
    _write_jsonl(tmp_path / "reward-bench-2/test.jsonl", [row])

    with pytest.raises(ValueError, match="lists of responses"):
        load_task("rewardbench2-math", tmp_path)


def test_rm_bench_total_dataset_fallback(tmp_path):
    rows = [
        {"id": 5, "prompt": "p", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"], "domain": "math"},
        {"id": 6, "prompt": "q", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"], "domain": "chat"},
    ]
    path = tmp_path / "rm-bench/total_dataset.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rows), encoding="utf-8")

    items = load_task("rm-bench-math", tmp_path)

    assert [item.uid for item in items] == ["rm-bench-math/5"]


def test_rm_bench_rejects_wrong_style_count(tmp_path):
    rows = [{"id": 1, "prompt": "p", "chosen": ["a", "b"], "rejected": ["d", "e", "f"]}]
    path = tmp_path / "rm-bench/data/chat_filtered.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rows), encoding="utf-8")

    with pytest.raises(ValueError, match="expected 3 of each"):
        load_task("rm-bench-chat", tmp_path)


def test_llmbar_invalid_label_names_file(tmp_path):
    path = tmp_path / "llmbar/Dataset/LLMBar/Natural/dataset.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([{"input": "i", "output_1": "a", "output_2": "b", "label": 3}]))

    with pytest.raises(ValueError, match="record 0 has label 3"):
        load_task("llmbar-natural", tmp_path)


def test_task_status_reports_invalid_file(tmp_path):
    path = tmp_path / "llmbar/Dataset/LLMBar/Natural/dataset.json"
    path.parent.mkdir(parents=True)
    path.write_text("[{", encoding="utf-8")

    statuses = {status.name: status for status in task_status(tmp_path)}

    assert statuses["llmbar-natural"].unavailable_reason.startswith("invalid data:")
    assert str(path) in statuses["llmbar-natural"].unavailable_reason
