"""Pairwise tasks rebuilt from raw upstream material where RewardBench's own pairs are absent.

The results are stand-ins, never RewardBench's subsets: RewardBench hand-filtered its
pairs and used completions from models that are not in these files, so item counts and
contents differ. Their task names end in ``-reconstructed``.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.data.transcripts import format_prompt
from rmbench.tasks.readers import read_rows, require_fields
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskUnavailable

XSTEST_PROMPTS_FILE = "xstest/xstest_prompts.csv"
XSTEST_COMPLETIONS_GLOB = "xstest/model_completions/xstest_v2_completions_*.csv"

FULL_COMPLIANCE = "1_full_compliance"
FULL_REFUSAL = "2_full_refusal"
PARTIAL_REFUSAL = "3_partial_refusal"

# XSTest prompt label -> (preferred final_label, dispreferred final_labels by priority).
XSTEST_RULES = {
    "should-respond": ("safe", FULL_COMPLIANCE, (FULL_REFUSAL, PARTIAL_REFUSAL)),
    "should-refuse": ("unsafe", FULL_REFUSAL, (FULL_COMPLIANCE, PARTIAL_REFUSAL)),
}

# AlpacaEval pairings of RewardBench: task variant -> (chosen generator, rejected generator).
ALPACAEVAL_PAIRINGS = {
    "easy": ("gpt4_turbo", "alpaca-7b"),
    "length": ("llama-2-70b-chat-hf", "guanaco-13b"),
    "hard": ("tulu-2-dpo-70b", "text_davinci_003"),
}


def _require_data_dir(spec: TaskSpec, data_dir: Path | None, material: str) -> Path:
    if data_dir is None:
        raise TaskUnavailable(
            f"needs a local data directory: {spec.name} is rebuilt from {material}, which is "
            f"not on the Hugging Face hub; set {DATA_DIR_ENV}"
        )
    return data_dir


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_xstest_reconstructed(spec: TaskSpec, variant: str, data_dir: Path | None) -> list[EvalItem]:
    """Rebuild XSTest should-respond or should-refuse pairs from labelled model completions.

    Prompts come from ``xstest_prompts.csv``: label "safe" is should-respond and "unsafe"
    is should-refuse. For each prompt, in file order:

    * should-respond: chosen = a full-compliance completion; rejected = a full refusal,
      or a partial refusal when no model fully refused.
    * should-refuse: chosen = a full refusal; rejected = a full-compliance completion, or a
      partial refusal when no model fully complied.

    On each side the completion of the first model in file-name order of
    ``model_completions/*.csv`` wins (gpt4, llama2new, llama2orig, mistralguard,
    mistralinstruct in the offline copy). Completions join prompts by id (``v2-<id>``),
    and the item prompt is the completion file's prompt text, which is what the models
    answered (it differs from xstest_prompts.csv for one prompt). Prompts without both a
    chosen and a rejected completion with non-blank text are skipped. uids are
    ``<task>/<XSTest prompt id>``.
    """
    data_dir = _require_data_dir(spec, data_dir, "XSTest model completions")
    prompt_label, chosen_label, rejected_labels = XSTEST_RULES[variant]

    prompts_path = data_dir / XSTEST_PROMPTS_FILE
    completion_paths = sorted(data_dir.glob(XSTEST_COMPLETIONS_GLOB))
    if not prompts_path.is_file() or not completion_paths:
        raise TaskUnavailable(
            f"not available offline: {prompts_path} or {data_dir / XSTEST_COMPLETIONS_GLOB} is "
            "missing; copy them from the XSTest GitHub repository (paul-rottger/exaggerated-safety)"
        )

    prompts = _read_csv(prompts_path)
    # Completions per prompt id, in model file-name order.
    completions: dict[str, list[dict[str, str]]] = {}
    for path in completion_paths:
        for row in _read_csv(path):
            if row["completion"].strip():
                completions.setdefault(row["id"].removeprefix("v2-"), []).append(row)

    items = []
    for prompt_row in prompts:
        if prompt_row["label"] != prompt_label:
            continue
        candidates = completions.get(prompt_row["id"], [])
        chosen = next((row for row in candidates if row["final_label"] == chosen_label), None)
        if chosen is None:
            continue
        rejected = None
        for label in rejected_labels:
            rejected = next(
                (
                    row
                    for row in candidates
                    if row["final_label"] == label and row["prompt"] == chosen["prompt"]
                ),
                None,
            )
            if rejected is not None:
                break
        if rejected is None:
            continue
        items.append(
            EvalItem(
                uid=f"{spec.name}/{prompt_row['id']}",
                prompt=format_prompt(chosen["prompt"]),
                chosen=(chosen["completion"],),
                rejected=(rejected["completion"],),
            )
        )
    return items


def _alpaca_outputs(data_dir: Path, generator: str) -> dict[str, str]:
    path = data_dir / "alpaca_eval" / "results" / generator / "model_outputs.json"
    if not path.is_file():
        raise TaskUnavailable(
            f"not available offline: {path} is missing; copy it from the AlpacaEval GitHub "
            "repository (tatsu-lab/alpaca_eval, results/)"
        )
    rows = read_rows(path)
    require_fields(rows, ("instruction", "output"), str(path))
    return {row["instruction"]: row["output"] for row in rows}


def load_alpacaeval_reconstructed(
    spec: TaskSpec, variant: str, data_dir: Path | None
) -> list[EvalItem]:
    """Rebuild AlpacaEval easy, length or hard pairs from two generators' outputs.

    Pairings follow RewardBench: easy = gpt4_turbo over alpaca-7b, length =
    llama-2-70b-chat-hf over guanaco-13b, hard = tulu-2-dpo-70b over text_davinci_003.
    The first generator's output is chosen. Outputs join on the exact instruction text,
    in the chosen generator's file order. Instructions missing from either file, with a
    blank output, or with identical outputs are skipped. RewardBench kept about 100
    hand-filtered pairs per subset, while this keeps every usable instruction. uids are
    ``<task>/<first 16 hex digits of the instruction's sha1>``.
    """
    data_dir = _require_data_dir(spec, data_dir, "AlpacaEval model outputs")
    chosen_generator, rejected_generator = ALPACAEVAL_PAIRINGS[variant]
    chosen_outputs = _alpaca_outputs(data_dir, chosen_generator)
    rejected_outputs = _alpaca_outputs(data_dir, rejected_generator)

    items = []
    for instruction, chosen in chosen_outputs.items():
        rejected = rejected_outputs.get(instruction)
        if rejected is None or not chosen.strip() or not rejected.strip() or chosen == rejected:
            continue
        instruction_hash = hashlib.sha1(instruction.encode("utf-8")).hexdigest()[:16]
        items.append(
            EvalItem(
                uid=f"{spec.name}/{instruction_hash}",
                prompt=format_prompt(instruction),
                chosen=(chosen,),
                rejected=(rejected,),
            )
        )
    return items
