"""`--rm-manifest` files: already trained RMs to check instead of training them here.

Schema (YAML or JSON):

    models:
      - backbone: smollm2-135m          # a backbone name from `rmbench backbones`, or a label such as name@6L
        seed: 0
        helpful: /path/to/helpful-rm    # local directory or Hugging Face hub id
        harmless: org/harmless-rm
        mixed: org/mixed-rm

The backbone is needed for the untrained control and the change-based neuron importance.
"""

from __future__ import annotations

from pathlib import Path

import yaml

OBJECTIVES = ("helpful", "harmless", "mixed")


def read_rm_manifest(path: str | Path) -> list[tuple[str, int, dict[str, str]]]:
    """Return (backbone label, seed, {objective: path or hub id}) per manifest entry."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RM manifest not found: {path}")
    raw = yaml.safe_load(path.read_text())  # JSON is a subset of YAML
    entries = raw.get("models") if isinstance(raw, dict) else None
    if not entries:
        raise ValueError(f"{path}: expected a top-level 'models' list; see `rmbench.manifest` for the schema")

    studies = []
    for index, entry in enumerate(entries):
        missing = [key for key in ("backbone", *OBJECTIVES) if not entry.get(key)]
        if missing:
            raise ValueError(
                f"{path}: models[{index}] lacks {', '.join(missing)}; every entry needs a backbone "
                "and the helpful, harmless and mixed RMs"
            )
        rm_paths = {}
        for objective in OBJECTIVES:
            ref = str(entry[objective])
            local = (path.parent / ref) if not Path(ref).is_absolute() else Path(ref)
            rm_paths[objective] = str(local.resolve()) if local.exists() else ref
        studies.append((str(entry["backbone"]), int(entry.get("seed", 0)), rm_paths))
    return studies
