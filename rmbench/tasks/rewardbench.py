"""RewardBench and RewardBench 2 tasks, from the hub or a local mirror of the hub's schema.

Local mirrors (under the data directory):

* RewardBench: ``reward-bench/filtered.jsonl``, ``reward-bench/filtered.parquet`` or
  ``reward-bench/data/filtered-*.parquet``, with string columns prompt, chosen, rejected
  and subset (id optional).
* RewardBench 2: ``reward-bench-2/test.jsonl``, ``reward-bench-2/test.parquet`` or
  ``reward-bench-2/data/test-*.parquet``, with prompt, subset and list columns chosen
  and rejected (id optional).

With a data directory but no RewardBench mirror, the llmbar-* tasks load LLMBar's own
files, which hold the same pairs as RewardBench's llmbar subsets (100, 134, 92, 47 and 46
pairs). Their uids are then ``<task>/<record index>`` instead of ``<task>/<RewardBench id>``.
The other RewardBench tasks are then unavailable.
"""

from __future__ import annotations

from pathlib import Path

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.data.transcripts import format_prompt
from rmbench.tasks.llmbar import LLMBAR_FILES, load_llmbar_file
from rmbench.tasks.readers import Row, find_split_files, hub_rows, read_rows, require_fields
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskUnavailable

REWARDBENCH_HUB = "allenai/reward-bench"
REWARDBENCH_SPLIT = "filtered"
REWARDBENCH_FOLDER = "reward-bench"

REWARDBENCH2_HUB = "allenai/reward-bench-2"
REWARDBENCH2_SPLIT = "test"
REWARDBENCH2_FOLDER = "reward-bench-2"

# Pointers to local stand-ins, appended to the reason of an unavailable RewardBench task.
_OFFLINE_ALTERNATIVES = {
    "alpacaeval-easy": "alpacaeval-easy-reconstructed is rebuilt from local AlpacaEval outputs",
    "alpacaeval-length": "alpacaeval-length-reconstructed is rebuilt from local AlpacaEval outputs",
    "alpacaeval-hard": "alpacaeval-hard-reconstructed is rebuilt from local AlpacaEval outputs",
    "mt-bench-easy": "mt-bench-human-llmbar holds LLMBar's MT-Bench human-judgement pairs instead",
    "mt-bench-med": "mt-bench-human-llmbar holds LLMBar's MT-Bench human-judgement pairs instead",
    "mt-bench-hard": "mt-bench-human-llmbar holds LLMBar's MT-Bench human-judgement pairs instead",
    "refusals-dangerous": (
        "RM-Bench's safety-refuse rows labelled refusals-dangerous have restyled responses, "
        "so they are not these pairs"
    ),
    "refusals-offensive": (
        "RM-Bench's safety-refuse rows labelled refusals-offensive have restyled responses, "
        "so they are not these pairs"
    ),
    "xstest-should-refuse": (
        "xstest-should-refuse-reconstructed is rebuilt from local XSTest completions"
    ),
    "xstest-should-respond": (
        "xstest-should-respond-reconstructed is rebuilt from local XSTest completions"
    ),
}


def _mirror_rows(files: list[Path], columns: tuple[str, ...]) -> list[Row]:
    rows: list[Row] = []
    for path in files:
        file_rows = read_rows(path)
        require_fields(file_rows, columns, str(path))
        rows.extend(file_rows)
    return rows


def _select_subset(rows: list[Row], subset: str, origin: str) -> list[Row]:
    selected = [row for row in rows if row["subset"] == subset]
    if not selected:
        raise TaskUnavailable(f"{origin} has no rows with subset {subset!r}")
    return selected


def _item_uid(spec: TaskSpec, row: Row, index: int) -> str:
    source_id = row.get("id")
    return f"{spec.name}/{index if source_id is None else source_id}"


def load_rewardbench(spec: TaskSpec, subset: str, data_dir: Path | None) -> list[EvalItem]:
    """Load one RewardBench subset as pairwise items.

    Reads the hub without a data directory, else the local mirror, else (for llmbar-*
    subsets only) LLMBar's files. Raises TaskUnavailable when none of these exists.
    """
    columns = ("prompt", "chosen", "rejected", "subset")
    if data_dir is None:
        rows = hub_rows(REWARDBENCH_HUB, REWARDBENCH_SPLIT)
        origin = f"{REWARDBENCH_HUB} (split {REWARDBENCH_SPLIT})"
    else:
        files = find_split_files(data_dir, REWARDBENCH_FOLDER, REWARDBENCH_SPLIT)
        if not files:
            if subset in LLMBAR_FILES:
                return load_llmbar_file(spec, data_dir / LLMBAR_FILES[subset])
            raise TaskUnavailable(_offline_reason_rewardbench(subset, data_dir))
        rows = _mirror_rows(files, columns)
        origin = ", ".join(str(path) for path in files)

    selected = _select_subset(rows, subset, origin)
    return [
        EvalItem(
            uid=_item_uid(spec, row, index),
            prompt=format_prompt(row["prompt"]),
            chosen=(row["chosen"],),
            rejected=(row["rejected"],),
        )
        for index, row in enumerate(selected)
    ]


def _offline_reason_rewardbench(subset: str, data_dir: Path) -> str:
    reason = (
        f"not available offline: RewardBench {subset} is only on the Hugging Face hub "
        f"({REWARDBENCH_HUB}, split {REWARDBENCH_SPLIT}); put a copy at "
        f"{data_dir / REWARDBENCH_FOLDER / (REWARDBENCH_SPLIT + '.jsonl')} (or .parquet), "
        f"or unset {DATA_DIR_ENV} and --data-dir to load it from the hub"
    )
    alternative = _OFFLINE_ALTERNATIVES.get(subset)
    return f"{reason}. Note: {alternative}" if alternative else reason


def load_rewardbench2(spec: TaskSpec, subset: str, data_dir: Path | None) -> list[EvalItem]:
    """Load one RewardBench 2 subset; each item has a chosen list and a rejected list.

    Raises TaskUnavailable when the data directory has no RewardBench 2 mirror.
    """
    columns = ("prompt", "chosen", "rejected", "subset")
    if data_dir is None:
        rows = hub_rows(REWARDBENCH2_HUB, REWARDBENCH2_SPLIT)
        origin = f"{REWARDBENCH2_HUB} (split {REWARDBENCH2_SPLIT})"
    else:
        files = find_split_files(data_dir, REWARDBENCH2_FOLDER, REWARDBENCH2_SPLIT)
        if not files:
            raise TaskUnavailable(
                f"not available offline: RewardBench 2 is only on the Hugging Face hub "
                f"({REWARDBENCH2_HUB}, split {REWARDBENCH2_SPLIT}); put a copy at "
                f"{data_dir / REWARDBENCH2_FOLDER / (REWARDBENCH2_SPLIT + '.jsonl')} "
                f"(or .parquet), or unset {DATA_DIR_ENV} and --data-dir to load it from the hub"
            )
        rows = _mirror_rows(files, columns)
        origin = ", ".join(str(path) for path in files)

    items = []
    for index, row in enumerate(_select_subset(rows, subset, origin)):
        chosen, rejected = row["chosen"], row["rejected"]
        if isinstance(chosen, str) or isinstance(rejected, str):
            raise ValueError(
                f"{origin}: row {index} of subset {subset!r} has a string where RewardBench 2 "
                "has lists of responses in 'chosen' and 'rejected'"
            )
        items.append(
            EvalItem(
                uid=_item_uid(spec, row, index),
                prompt=format_prompt(row["prompt"]),
                chosen=tuple(chosen),
                rejected=tuple(rejected),
            )
        )
    return items
