"""RM-Bench style-matrix tasks (THU-KEG/RM-Bench).

Each record has three chosen and three rejected responses, in the styles concise,
detailed plain text and detailed markdown, in that order.

Without a data directory, records come from the hub dataset (split ``train``, one row
per record with a ``domain`` column). With one, they come from the GitHub layout
``rm-bench/data/<domain>_filtered.json``, or else from a ``total_dataset.json`` under
``rm-bench/data/`` or ``rm-bench/``, filtered by domain.
"""

from __future__ import annotations

from pathlib import Path

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.data.transcripts import format_prompt
from rmbench.tasks.readers import Row, hub_rows, read_rows, require_fields
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskUnavailable

RM_BENCH_HUB = "THU-KEG/RM-Bench"
RM_BENCH_HUB_SPLIT = "train"
RM_BENCH_DOMAINS = ("chat", "code", "math", "safety-refuse", "safety-response")
STYLES = ("concise", "detailed_plain", "detailed_markdown")


def _local_rows(domain: str, data_dir: Path) -> tuple[list[Row], str]:
    domain_file = data_dir / "rm-bench" / "data" / f"{domain}_filtered.json"
    if domain_file.is_file():
        return read_rows(domain_file), str(domain_file)

    for total_file in (
        data_dir / "rm-bench" / "data" / "total_dataset.json",
        data_dir / "rm-bench" / "total_dataset.json",
    ):
        if total_file.is_file():
            rows = read_rows(total_file)
            require_fields(rows, ("domain",), str(total_file))
            return [row for row in rows if row["domain"] == domain], str(total_file)

    raise TaskUnavailable(
        f"not available offline: {domain_file} is missing (and no total_dataset.json contains the "
        f"{domain} domain); copy it from the RM-Bench GitHub repository (THU-KEG/RM-Bench, "
        f"data/), or unset {DATA_DIR_ENV} and --data-dir to load {RM_BENCH_HUB} from the hub"
    )


def load_rm_bench(spec: TaskSpec, domain: str, data_dir: Path | None) -> list[EvalItem]:
    """Load one RM-Bench domain as style-matrix items with uids ``<task>/<record id>``.

    Raises TaskUnavailable when the domain's data is missing, and ValueError for a record
    without exactly three chosen and three rejected responses.
    """
    if data_dir is None:
        rows = [
            row for row in hub_rows(RM_BENCH_HUB, RM_BENCH_HUB_SPLIT) if row.get("domain") == domain
        ]
        origin = f"{RM_BENCH_HUB} (split {RM_BENCH_HUB_SPLIT})"
    else:
        rows, origin = _local_rows(domain, data_dir)
    if not rows:
        raise TaskUnavailable(f"{origin} has no records of the RM-Bench domain {domain!r}")

    require_fields(rows, ("id", "prompt", "chosen", "rejected"), origin)
    items = []
    for row in rows:
        if len(row["chosen"]) != len(STYLES) or len(row["rejected"]) != len(STYLES):
            raise ValueError(
                f"{origin}: record {row['id']} has {len(row['chosen'])} chosen and "
                f"{len(row['rejected'])} rejected responses, expected {len(STYLES)} of each"
            )
        items.append(
            EvalItem(
                uid=f"{spec.name}/{row['id']}",
                prompt=format_prompt(row["prompt"]),
                chosen=tuple(row["chosen"]),
                rejected=tuple(row["rejected"]),
            )
        )
    return items
