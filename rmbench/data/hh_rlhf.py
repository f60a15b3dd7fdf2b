"""Anthropic HH-RLHF preference pairs: loading, cleaning and the train/held-out split.

Sources, in order of precedence: an explicit ``data_dir``, the RMBENCH_DATA_DIR
environment variable, then the Hugging Face hub (``Anthropic/hh-rlhf``). A local
directory is laid out like the upstream repository:
``<data_dir>/hh-rlhf/<subset>/<split>.jsonl.gz`` (an uncompressed ``<split>.jsonl`` is
also accepted).

Objectives group the four subsets: helpful = helpful-base + helpful-online +
helpful-rejection-sampled, harmless = harmless-base, mixed = all four.
"""

from __future__ import annotations

import copy
import functools
import gzip
import hashlib
import json
import logging
import os
import random
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rmbench.data.paths import resolve_data_dir
from rmbench.data.transcripts import MalformedTranscript, parse_transcript_pair

logger = logging.getLogger(__name__)

HUB_DATASET = "Anthropic/hh-rlhf"

HELPFUL_SUBSETS = ("helpful-base", "helpful-online", "helpful-rejection-sampled")
HARMLESS_SUBSETS = ("harmless-base",)
HH_SUBSETS = HELPFUL_SUBSETS + HARMLESS_SUBSETS

OBJECTIVE_SUBSETS: dict[str, tuple[str, ...]] = {
    "helpful": HELPFUL_SUBSETS,
    "harmless": HARMLESS_SUBSETS,
    "mixed": HH_SUBSETS,
}

PARTS = ("train", "heldout")
DEFAULT_HELDOUT_FRACTION = 0.2

# Number of line numbers quoted in a warning about invalid lines.
_MAX_QUOTED_LINES = 5


@dataclass(frozen=True)
class PreferencePair:
    """One HH-RLHF comparison, split into the shared prompt and the two final responses."""

    prompt: str  # shared dialogue prefix, HH format, ends with "\n\nAssistant:"
    chosen: str  # final assistant response, without the leading space
    rejected: str
    subset: str  # "helpful-base", "harmless-base", ...
    uid: str  # sha1 hex digest of the prompt (the split key)


@dataclass
class SubsetLoadStats:
    """Counts from loading one subset and split, before and after cleaning."""

    subset: str
    split: str
    source: str  # file path or hub dataset id
    records: int = 0  # non-blank lines in the file, or rows on the hub, before any drop
    invalid_lines: list[int] = field(default_factory=list)  # 1-based line numbers
    dropped: Counter = field(default_factory=Counter)  # MalformedTranscript reason -> count
    kept: int = 0  # pairs returned after all drops


def prompt_uid(prompt: str) -> str:
    """Return the sha1 hex digest of a prompt, the uid and split key of its pairs."""
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()


def part_of(uid: str, heldout_fraction: float = DEFAULT_HELDOUT_FRACTION) -> str:
    """Return "heldout" or "train" for a prompt uid.

    The first 15 hex digits of the sha1 uid, read as a fraction of 16**15, fall below
    ``heldout_fraction`` for held-out prompts. Pairs with the same prompt therefore
    always land in the same part, in every subset and objective.
    """
    position = int(uid[:15], 16) / 16**15
    return "heldout" if position < heldout_fraction else "train"


def hh_subset_path(data_dir: Path, subset: str, split: str) -> Path:
    """Return the local file of one subset and split, preferring ``.jsonl.gz``.

    Raises FileNotFoundError naming the expected path when neither file exists.
    """
    folder = data_dir / "hh-rlhf" / subset
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"HH-RLHF subset {subset!r} split {split!r} not found: expected "
        f"{folder / (split + '.jsonl.gz')} (or .jsonl); set RMBENCH_DATA_DIR or --data-dir to "
        "a directory that contains hh-rlhf/<subset>/<split>.jsonl.gz, or unset both to load "
        f"{HUB_DATASET} from the Hugging Face hub"
    )


def _iter_file_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, raw line) for the non-blank lines of a JSON-lines file.

    Raises ValueError naming the file and the last complete line when a gzip stream is
    truncated or corrupt, because the rest of the file cannot be read.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    line_number = 0
    try:
        with opener(path, "rb") as handle:
            for line_number, raw_line in enumerate(handle, start=1):
                if raw_line.strip():
                    yield line_number, raw_line
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"{path}: gzip stream is truncated or corrupt after line {line_number} ({error}); "
            "download the file again"
        ) from error


def _parse_record(raw_line: bytes) -> tuple[str, str] | None:
    """Return (chosen, rejected) from one JSON line, or None if it is not a valid record."""
    try:
        record = json.loads(raw_line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    chosen = record.get("chosen")
    rejected = record.get("rejected")
    if not isinstance(chosen, str) or not isinstance(rejected, str):
        return None
    return chosen, rejected


def _read_local_records(path: Path, stats: SubsetLoadStats) -> list[tuple[str, str]]:
    """Read (chosen, rejected) records from a local file, dropping and logging invalid lines."""
    records = []
    for line_number, raw_line in _iter_file_lines(path):
        stats.records += 1
        record = _parse_record(raw_line)
        if record is None:
            stats.invalid_lines.append(line_number)
        else:
            records.append(record)

    if stats.invalid_lines:
        quoted = ", ".join(str(number) for number in stats.invalid_lines[:_MAX_QUOTED_LINES])
        more = "" if len(stats.invalid_lines) <= _MAX_QUOTED_LINES else ", ..."
        logger.warning(
            "%s: dropped %d of %d lines that are not JSON records with string 'chosen' and "
            "'rejected' fields (lines %s%s)",
            path,
            len(stats.invalid_lines),
            stats.records,
            quoted,
            more,
        )
    return records


def _read_hub_records(subset: str, split: str, stats: SubsetLoadStats) -> list[tuple[str, str]]:
    """Download one subset and split of HH-RLHF from the Hugging Face hub."""
    import datasets  # deferred: importing datasets takes seconds

    dataset = datasets.load_dataset(HUB_DATASET, data_dir=subset, split=split)
    records = [(row["chosen"], row["rejected"]) for row in dataset]
    stats.records = len(records)
    return records


def _clean_records(
    records: list[tuple[str, str]], subset: str, stats: SubsetLoadStats
) -> list[PreferencePair]:
    """Parse transcript records into pairs, counting and logging malformed ones."""
    pairs = []
    for chosen_text, rejected_text in records:
        try:
            prompt, chosen, rejected = parse_transcript_pair(chosen_text, rejected_text)
        except MalformedTranscript as error:
            stats.dropped[error.reason] += 1
            continue
        pairs.append(PreferencePair(prompt, chosen, rejected, subset, prompt_uid(prompt)))
    stats.kept = len(pairs)

    if stats.dropped:
        reasons = ", ".join(f"{reason}={count}" for reason, count in sorted(stats.dropped.items()))
        logger.warning(
            "%s (%s/%s): dropped %d malformed pairs of %d: %s",
            stats.source,
            subset,
            stats.split,
            sum(stats.dropped.values()),
            len(records),
            reasons,
        )
    return pairs


@functools.lru_cache(maxsize=16)
def _load_local_subset(
    path: Path, subset: str, split: str, mtime_ns: int, size: int
) -> tuple[tuple[PreferencePair, ...], SubsetLoadStats]:
    """Load and clean one local file, cached by file identity so that repeated loads log nothing."""
    stats = SubsetLoadStats(subset, split, source=str(path))
    records = _read_local_records(path, stats)
    return tuple(_clean_records(records, subset, stats)), stats


def load_hh_subset(
    subset: str, split: str = "test", data_dir: str | os.PathLike[str] | None = None
) -> tuple[list[PreferencePair], SubsetLoadStats]:
    """Load one HH-RLHF subset and split as clean pairs, with the load statistics.

    Invalid lines and malformed pairs are dropped, and each kind of drop is logged as a
    warning with its count. A local file is parsed and logged once per process while its
    modification time and size stay the same. Raises ValueError for an unknown subset and
    FileNotFoundError when the local file or data directory is missing.
    """
    if subset not in HH_SUBSETS:
        raise ValueError(f"unknown HH-RLHF subset {subset!r}; expected one of {HH_SUBSETS}")

    resolved_dir = resolve_data_dir(data_dir)
    if resolved_dir is None:
        stats = SubsetLoadStats(subset, split, source=f"{HUB_DATASET}:{subset}")
        records = _read_hub_records(subset, split, stats)
        return _clean_records(records, subset, stats), stats

    path = hh_subset_path(resolved_dir, subset, split).resolve()
    file_status = path.stat()
    pairs, stats = _load_local_subset(path, subset, split, file_status.st_mtime_ns, file_status.st_size)
    return list(pairs), copy.deepcopy(stats)


def load_hh_rlhf(
    subsets: str | Iterable[str],
    split: str = "test",
    data_dir: str | os.PathLike[str] | None = None,
) -> list[PreferencePair]:
    """Load clean pairs of one or more HH-RLHF subsets, concatenated in the given order."""
    if isinstance(subsets, str):
        subsets = (subsets,)
    pairs: list[PreferencePair] = []
    for subset in subsets:
        subset_pairs, _ = load_hh_subset(subset, split, data_dir)
        pairs.extend(subset_pairs)
    return pairs


def subsample(pairs: Sequence[PreferencePair], limit: int | None, seed: int = 0) -> list[PreferencePair]:
    """Return ``limit`` pairs drawn without replacement by a seeded shuffle, in input order.

    A smaller limit with the same seed returns a subset of a larger one. With
    ``limit=None``, or a limit of at least ``len(pairs)``, all pairs are returned.
    """
    if limit is None or limit >= len(pairs):
        return list(pairs)
    if limit < 0:
        raise ValueError(f"limit must be non-negative, got {limit}")
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    return [pairs[index] for index in sorted(order[:limit])]


def objective_pairs(
    objective: str,
    part: str,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    *,
    split: str = "test",
    heldout_fraction: float = DEFAULT_HELDOUT_FRACTION,
) -> list[PreferencePair]:
    """Return the train or held-out pairs of a training objective.

    Both parts are carved out of the same official ``split`` (only the test splits exist
    in the offline copy) by ``part_of``, so no prompt is in both parts. With ``limit``,
    the helpful and harmless lists are each subsampled to ``limit`` pairs, and "mixed" is
    their concatenation. The mixed set therefore has up to ``2 * limit`` pairs and equals
    the union of the two single-objective sets for the same arguments.
    """
    if objective not in OBJECTIVE_SUBSETS:
        raise ValueError(f"unknown objective {objective!r}; expected one of {tuple(OBJECTIVE_SUBSETS)}")
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be between 0 and 1, got {heldout_fraction}")

    if objective == "mixed":
        single_objective_args = dict(split=split, heldout_fraction=heldout_fraction)
        helpful = objective_pairs("helpful", part, data_dir, limit, seed, **single_objective_args)
        harmless = objective_pairs("harmless", part, data_dir, limit, seed, **single_objective_args)
        return helpful + harmless

    pairs = load_hh_rlhf(OBJECTIVE_SUBSETS[objective], split, data_dir)
    in_part = [pair for pair in pairs if part_of(pair.uid, heldout_fraction) == part]
    if limit is not None and limit > len(in_part):
        logger.warning(
            "requested %d %s %s pairs, but only %d exist, so all of them are used",
            limit,
            objective,
            part,
            len(in_part),
        )
    return subsample(in_part, limit, seed)


def data_fingerprint(pairs: Iterable[PreferencePair]) -> str:
    """Return the sha256 hex digest of the pairs' content, in order.

    The digest covers prompt, chosen, rejected and subset of every pair, so it changes
    when the data, its order or its subset labels change.
    """
    digest = hashlib.sha256()
    for pair in pairs:
        fields = [pair.prompt, pair.chosen, pair.rejected, pair.subset]
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
