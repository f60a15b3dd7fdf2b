"""LLMBar pairs from the LLMBar GitHub repository's files (princeton-nlp/LLMBar).

Each file is a JSON array of ``{input, output_1, output_2, label}`` where ``label`` (1 or
2) names the better output.
"""

from __future__ import annotations

from pathlib import Path

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.data.transcripts import format_prompt
from rmbench.tasks.readers import read_rows, require_fields
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskUnavailable

# RewardBench subset -> LLMBar file, relative to the data directory.
LLMBAR_FILES = {
    "llmbar-natural": "llmbar/Dataset/LLMBar/Natural/dataset.json",
    "llmbar-adver-neighbor": "llmbar/Dataset/LLMBar/Adversarial/Neighbor/dataset.json",
    "llmbar-adver-GPTInst": "llmbar/Dataset/LLMBar/Adversarial/GPTInst/dataset.json",
    "llmbar-adver-GPTOut": "llmbar/Dataset/LLMBar/Adversarial/GPTOut/dataset.json",
    "llmbar-adver-manual": "llmbar/Dataset/LLMBar/Adversarial/Manual/dataset.json",
}

LLMBAR_MT_BENCH_FILE = "llmbar/Dataset/Processed/MT-Bench/dataset.json"


def load_llmbar_file(spec: TaskSpec, path: Path) -> list[EvalItem]:
    """Load an LLMBar file as pairwise items with uids ``<task>/<record index>``.

    Raises TaskUnavailable when the file is missing and ValueError for a record whose
    label is not 1 or 2.
    """
    if not path.is_file():
        raise TaskUnavailable(
            f"not available offline: {path} is missing; copy it there from the LLMBar GitHub "
            "repository (princeton-nlp/LLMBar)"
        )

    rows = read_rows(path)
    require_fields(rows, ("input", "output_1", "output_2", "label"), str(path))
    items = []
    for index, row in enumerate(rows):
        label = row["label"]
        if label not in (1, 2):
            raise ValueError(f"{path}: record {index} has label {label!r}, expected 1 or 2")
        better, worse = ("output_1", "output_2") if label == 1 else ("output_2", "output_1")
        items.append(
            EvalItem(
                uid=f"{spec.name}/{index}",
                prompt=format_prompt(row["input"]),
                chosen=(row[better],),
                rejected=(row[worse],),
            )
        )
    return items


def load_llmbar(spec: TaskSpec, relative_path: str, data_dir: Path | None) -> list[EvalItem]:
    """Load a local-only LLMBar file; raises TaskUnavailable without a data directory."""
    if data_dir is None:
        raise TaskUnavailable(
            f"needs a local data directory: {spec.name} is read from {relative_path} (LLMBar "
            f"GitHub repository, princeton-nlp/LLMBar), not from the hub; set {DATA_DIR_ENV}"
        )
    return load_llmbar_file(spec, data_dir / relative_path)
