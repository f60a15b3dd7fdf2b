"""Run profiles declared as YAML data: backbones, seeds, data sizes, hyper-parameters, tau, tasks.

`load_profile("tiny")` reads the YAML shipped in this package; a path to a YAML file of the same
schema loads a user profile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).parent
DEFAULT_PROFILE = "cpu"


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    num_layers: int | None = None

    @classmethod
    def from_label(cls, label: str) -> "BackboneSpec":
        """Parse a label such as "smollm2-135m" or "smollm2-135m-instruct-gguf@6L"."""
        name, _, layers = label.partition("@")
        if layers:
            if not (layers.endswith("L") and layers[:-1].isdigit()):
                raise ValueError(f"invalid backbone label '{label}': expected <name> or <name>@<layers>L")
            return cls(name, int(layers[:-1]))
        return cls(name)

    @property
    def label(self) -> str:
        """Short identifier used in tables, golden files and test ids."""
        if self.num_layers is None:
            return self.name
        return f"{self.name}@{self.num_layers}L"


@dataclass(frozen=True)
class TrainingSettings:
    train_pairs: int | None
    heldout_pairs: int
    max_length: int
    learning_rate: float
    batch_size: int
    epochs_single: int
    epochs_mixed: int
    warmup_ratio: float = 0.0
    bf16: bool = True
    split: str = "test"


@dataclass(frozen=True)
class EvaluationSettings:
    max_length: int
    items_per_task: int | None
    batch_size: int = 16
    bootstrap: int = 1000
    tasks: str | tuple[str, ...] = "paper"


@dataclass(frozen=True)
class NeuronSettings:
    tau: float
    capture_pairs: int
    max_length: int
    sweep_taus: tuple[float, ...] = (10.0,)
    sweep_methods: tuple[str, ...] = ("magnitude", "change", "random")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    backbones: tuple[BackboneSpec, ...]
    seeds: tuple[int, ...]
    training: TrainingSettings
    evaluation: EvaluationSettings
    neurons: NeuronSettings
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, *, backbones=None, seeds=None) -> "Profile":
        """Return a copy restricted to the given backbone names or labels and seeds."""
        chosen = self.backbones
        if backbones:
            known = {b.name for b in self.backbones} | {b.label for b in self.backbones}
            unknown = [b for b in backbones if b not in known]
            if unknown:
                raise ValueError(
                    f"backbone(s) {unknown} are not in profile '{self.name}' (it has {sorted(b.label for b in self.backbones)}); "
                    "write a profile YAML that lists them to train new backbones"
                )
            wanted = set(backbones)
            chosen = tuple(b for b in self.backbones if b.name in wanted or b.label in wanted)
        return dataclasses.replace(
            self,
            backbones=chosen,
            seeds=tuple(seeds) if seeds else self.seeds,
        )


def available_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILE_DIR.glob("*.yaml"))


TOP_LEVEL_KEYS = {"name", "description", "backbones", "seeds", "training", "evaluation", "neurons"}
# YAML 1.1 (PyYAML) reads "5e-5" without a dot as a string, so numeric fields are converted here.
FLOAT_FIELDS = {"learning_rate", "warmup_ratio", "tau"}


def _section(cls, raw: dict, section: str, source: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(
            f"{source}: unknown keys {sorted(unknown)} in section '{section}'; "
            f"valid keys are {sorted(names)}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    for key in FLOAT_FIELDS & set(values):
        try:
            values[key] = float(values[key])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: {section}.{key} must be a number, got {values[key]!r}") from exc
    if section == "neurons" and not 0 < values.get("tau", 10) <= 100:
        raise ValueError(f"{source}: neurons.tau must be a percentage in (0, 100], got {values['tau']}")
    return cls(**values)


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """Load a shipped profile by name or a user profile from a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"profile '{name_or_path}' not found; shipped profiles: {available_profiles()}, "
            "or pass the path of a YAML file with the same schema"
        )

    raw = yaml.safe_load(path.read_text())
    source = str(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a mapping with the keys {sorted(TOP_LEVEL_KEYS)}")
    missing = TOP_LEVEL_KEYS - {"description"} - set(raw)
    unknown = set(raw) - TOP_LEVEL_KEYS
    if missing or unknown:
        raise ValueError(
            f"{source}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}; "
            f"a profile has the keys {sorted(TOP_LEVEL_KEYS)}"
        )
    try:
        backbones = tuple(BackboneSpec(**b) for b in raw["backbones"])
    except TypeError as exc:
        raise ValueError(f"{source}: invalid backbone entry ({exc}); each entry has name and optionally num_layers") from exc
    return Profile(
        name=raw["name"],
        description=raw.get("description", ""),
        backbones=backbones,
        seeds=tuple(raw["seeds"]),
        training=_section(TrainingSettings, raw["training"], "training", source),
        evaluation=_section(EvaluationSettings, raw["evaluation"], "evaluation", source),
        neurons=_section(NeuronSettings, raw["neurons"], "neurons", source),
        source=source,
    )
