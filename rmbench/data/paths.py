"""Resolution of the local data directory that replaces the Hugging Face hub."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "RMBENCH_DATA_DIR"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the local data directory to read, or None to load from the Hugging Face hub.

    An explicit ``data_dir`` wins over the RMBENCH_DATA_DIR environment variable, and an
    empty variable counts as unset. Raises FileNotFoundError when the chosen path is not
    an existing directory.
    """
    if data_dir is not None:
        origin = "data_dir argument"
        chosen = Path(data_dir)
    else:
        from_env = os.environ.get(DATA_DIR_ENV, "")
        if not from_env:
            return None
        origin = f"{DATA_DIR_ENV} environment variable"
        chosen = Path(from_env)

    chosen = chosen.expanduser()
    if not chosen.is_dir():
        raise FileNotFoundError(
            f"data directory {str(chosen)!r} (from the {origin}) does not exist or is not a "
            f"directory; set {DATA_DIR_ENV} or --data-dir to a directory laid out like the "
            "upstream files (hh-rlhf/, rm-bench/, llmbar/, ...), or unset both to load from "
            "the Hugging Face hub"
        )
    return chosen
