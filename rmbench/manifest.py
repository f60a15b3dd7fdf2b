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
    try:
        raw = yaml.safe_load(path.read_text())  # JSON is a subset of YAML
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML/JSON: {exc}") from exc
    entries = raw.get("models") if isinstance(raw, dict) else None
    if not entries:
        raise ValueError(f"{path}: expected a top-level 'models' list; see `rmbench.manifest` for the schema")

    studies = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: models[{index}] must be a mapping with backbone, seed, {', '.join(OBJECTIVES)}")
        unknown = set(entry) - {"backbone", "seed", *OBJECTIVES}
        if unknown:
            raise ValueError(f"{path}: models[{index}] has unknown keys {sorted(unknown)}; valid keys: backbone, seed, {', '.join(OBJECTIVES)}")
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
            if local.exists():
                rm_paths[objective] = str(local.resolve())
            elif ref.startswith(("/", ".", "~")):
                raise FileNotFoundError(f"{path}: models[{index}].{objective}: local model folder {ref} not found")
            else:
                rm_paths[objective] = ref  # a Hugging Face hub id
        seed = entry.get("seed", 0)
        if not isinstance(seed, int):
            raise ValueError(f"{path}: models[{index}].seed must be an integer, got {seed!r}")
        studies.append((str(entry["backbone"]), seed, rm_paths))
    return studies
