"""Readers for evaluation data: local JSON, JSON-lines and parquet files, and the hub.

Evaluation sets must load completely, so unlike the HH-RLHF training loader these
readers raise on an invalid line instead of dropping it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.tasks.spec import TaskUnavailable

Row = dict[str, Any]


def read_json_array(path: Path) -> list[Row]:
    """Read a JSON file that contains an array of objects.

    Raises ValueError naming the file when it is not valid JSON or not an array of objects.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from error

    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of records, found {type(data).__name__}")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: record {index} is {type(row).__name__}, expected an object")
    return data


def read_json_lines(path: Path) -> list[Row]:
    """Read a JSON-lines file of objects, skipping blank lines.

    Raises ValueError naming the file and the 1-based line of the first invalid line.
    """
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: invalid JSON: {error.msg}") from error
            if not isinstance(row, dict):
                raise ValueError(
                    f"{path}:{line_number}: expected a JSON object, found {type(row).__name__}"
                )
            rows.append(row)
    return rows


def read_parquet(path: Path) -> list[Row]:
    """Read all rows of a parquet file as dictionaries."""
    import pyarrow.parquet  # installed with datasets

    return pyarrow.parquet.read_table(path).to_pylist()


@functools.lru_cache(maxsize=32)
def _read_rows_cached(path: Path, mtime_ns: int) -> tuple[Row, ...]:
    if path.suffix == ".parquet":
        return tuple(read_parquet(path))
    if path.suffix == ".jsonl":
        return tuple(read_json_lines(path))
    return tuple(read_json_array(path))


def read_rows(path: Path) -> list[Row]:
    """Read a .json (array), .jsonl or .parquet file; cached while the file is unchanged."""
    resolved = path.resolve()
    return list(_read_rows_cached(resolved, resolved.stat().st_mtime_ns))


def find_split_files(data_dir: Path, folder: str, split: str) -> list[Path]:
    """Return the local files of a hub-style split, or [] when none exist.

    Looks, in order, for ``<folder>/<split>.jsonl``, ``<folder>/<split>.parquet`` and the
    shards ``<folder>/data/<split>-*.parquet`` that a clone of the hub repository contains.
    """
    base = data_dir / folder
    for name in (f"{split}.jsonl", f"{split}.parquet"):
        if (base / name).is_file():
            return [base / name]
    return sorted((base / "data").glob(f"{split}-*.parquet"))


def require_fields(rows: list[Row], fields: tuple[str, ...], source: str) -> None:
    """Raise ValueError naming the source and row index of the first row missing a field."""
    for index, row in enumerate(rows):
        missing = [name for name in fields if name not in row]
        if missing:
            raise ValueError(f"{source}: row {index} is missing the fields {missing}")


@functools.lru_cache(maxsize=8)
def _hub_rows_cached(repo_id: str, split: str) -> tuple[Row, ...]:
    import datasets  # deferred: importing datasets takes seconds

    try:
        dataset = datasets.load_dataset(repo_id, split=split)
    except OSError as error:
        # Connection failures, HTTP errors and missing hub files all derive from OSError.
        raise TaskUnavailable(
            f"failed to load {repo_id} (split {split}) from the Hugging Face hub: {error}; "
            f"check the network, or set {DATA_DIR_ENV} to a local copy"
        ) from error
    return tuple(dataset.to_list())


def hub_rows(repo_id: str, split: str) -> list[Row]:
    """Load a hub dataset split as dictionaries, once per process.

    Raises TaskUnavailable when the download fails.
    """
    return list(_hub_rows_cached(repo_id, split))


def clear_caches() -> None:
    """Forget cached hub and file rows, so the next load reads them again."""
    _hub_rows_cached.cache_clear()
    _read_rows_cached.cache_clear()
