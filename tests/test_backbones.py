"""Backbone loading, pad-token rules, reward position and per-architecture adapters."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    GPT2Config,
    GPTNeoXConfig,
    LlamaConfig,
)

from rmbench.models import (
    UnknownBackbone,
    UnsupportedArchitecture,
    backbone_fingerprint,
    get_adapter,
    load_backbone,
    load_reward_model,
    reward_forward,
)
from rmbench.models.backbones import END_OF_TURN_TOKEN, SMOLLM2_PAD_TOKEN, configure_pad_token
from rmbench.models.reward import last_token_index

GGUF = "smollm2-135m-instruct-gguf"
TEXTS = [
    "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water, yeast and salt, then let it rise.",
    "\n\nHuman: Hi\n\nAssistant: Hello!",
    "\n\nHuman: What is 2+2?\n\nAssistant: 4",
]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _pad(rows: list[list[int]], pad_id: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        start = 0 if side == "right" else width - len(row)
        input_ids[i, start : start + len(row)] = torch.tensor(row)
        attention_mask[i, start : start + len(row)] = 1
    return input_ids, attention_mask


def _score_alone(model, row: list[int]) -> float:
    ids = torch.tensor([row])
    with torch.no_grad():
        return float(reward_forward(model, ids, torch.ones_like(ids)))


# ---------------------------------------------------------------------- registry and loading


def test_unknown_backbone_lists_known_names():
    with pytest.raises(UnknownBackbone) as error:
        load_backbone("gpt5-nano")
    message = str(error.value)
    assert "gpt5-nano" in message
    assert "tiny-llama-random" in message
    assert GGUF in message


def test_gguf_backbone_gives_finite_rewards():
    model, tokenizer = load_backbone(GGUF, num_layers=2)
    assert model.config.model_type == "llama"
    assert model.config.num_hidden_layers == 2
    assert model.dtype == torch.float32
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        rewards = reward_forward(model, batch["input_ids"], batch["attention_mask"])
    assert rewards.shape == (len(TEXTS),)
    assert torch.isfinite(rewards).all()


@pytest.mark.parametrize("name", [GGUF, "tiny-llama-random"])
def test_smollm2_pad_token_is_not_end_of_turn(name):
    model, tokenizer = load_backbone(name, num_layers=2)
    assert tokenizer.pad_token != END_OF_TURN_TOKEN
    assert tokenizer.pad_token == SMOLLM2_PAD_TOKEN
    assert tokenizer.pad_token_id == 0
    assert tokenizer.pad_token_id != tokenizer.convert_tokens_to_ids(END_OF_TURN_TOKEN)
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert tokenizer.truncation_side == "left"


def test_tokenizer_without_pad_gets_eos_as_pad():
    # A GPT-2-like tokenizer: eos <|endoftext|>, no pad token, no chat end-of-turn token.
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(WordLevel({"hello": 0, "world": 1, "<|endoftext|>": 2, "[UNK]": 3}, unk_token="[UNK]"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", unk_token="[UNK]")
    assert tokenizer.pad_token is None
    configure_pad_token(tokenizer)
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id == 2


def test_num_layers_keeps_pretrained_layers_bit_equal():
    short, _ = load_backbone(GGUF, num_layers=2)
    longer, _ = load_backbone(GGUF, num_layers=4)
    assert longer.config.num_hidden_layers == 4
    for name, tensor in short.state_dict().items():
        assert torch.equal(tensor, longer.state_dict()[name]), name


def test_num_layers_out_of_range_raises():
    with pytest.raises(ValueError, match="out of range"):
        load_backbone("tiny-llama-random", num_layers=5)
    with pytest.raises(ValueError, match="out of range"):
        load_backbone(GGUF, num_layers=0)


@pytest.mark.parametrize("name", ["tiny-llama-random", "tiny-gpt2-random", GGUF])
def test_same_seed_gives_same_initial_weights(name):
    first, _ = load_backbone(name, num_layers=2, seed=3)
    second, _ = load_backbone(name, num_layers=2, seed=3)
    other, _ = load_backbone(name, num_layers=2, seed=4)
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[key]), key
    assert not torch.equal(first.score.weight, other.score.weight)


def test_backbone_fingerprint_depends_on_layers():
    assert backbone_fingerprint(GGUF, 4) == backbone_fingerprint(GGUF, 4)
    assert backbone_fingerprint(GGUF, 4) != backbone_fingerprint(GGUF, 6)
    assert backbone_fingerprint("tiny-llama-random") != backbone_fingerprint("tiny-gpt2-random")


def test_reward_model_round_trip(tmp_path):
    model, tokenizer = load_backbone("tiny-gpt2-random", seed=1)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = load_reward_model(tmp_path)
    assert loaded_tokenizer.pad_token_id == tokenizer.pad_token_id
    assert loaded.config.pad_token_id == tokenizer.pad_token_id
    row = tokenizer(TEXTS[0])["input_ids"]
    assert _score_alone(loaded, row) == pytest.approx(_score_alone(model, row), abs=1e-6)


def test_load_reward_model_rejects_folder_without_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_reward_model(tmp_path)


# ---------------------------------------------------------------------- reward position


@pytest.mark.parametrize("name", ["tiny-gpt2-random", "tiny-llama-random"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_reward_alone_equals_reward_in_padded_batch(name, side):
    model, tokenizer = load_backbone(name, seed=0)
    rows = [tokenizer(text)["input_ids"] for text in TEXTS]
    alone = [_score_alone(model, row) for row in rows]
    input_ids, attention_mask = _pad(rows, tokenizer.pad_token_id, side)
    with torch.no_grad():
        batched = reward_forward(model, input_ids, attention_mask)
    torch.testing.assert_close(batched, torch.tensor(alone), atol=1e-5, rtol=0)


def test_reward_reads_trailing_pad_id_token():
    # With pad == eos (GPT-2), a text ending in eos must still be scored at that eos token.
    model, tokenizer = load_backbone("tiny-gpt2-random", seed=0)
    row = tokenizer(TEXTS[1])["input_ids"] + [tokenizer.pad_token_id]
    ids = torch.tensor([row])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        expected = model.score(hidden[0, -1])
        actual = reward_forward(model, ids, mask)
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=0)


def test_last_token_index_for_both_padding_sides():
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert last_token_index(mask).tolist() == [2, 4, 4]
    with pytest.raises(ValueError, match="without any real token"):
        last_token_index(torch.zeros((1, 3), dtype=torch.long))


# ---------------------------------------------------------------------- adapters

TINY_CONFIGS = {
    "gpt2": GPT2Config(n_layer=3, n_embd=32, n_head=4, vocab_size=100, n_positions=64),
    "llama": LlamaConfig(
        hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4, vocab_size=100
    ),
    "gpt_neox": GPTNeoXConfig(
        hidden_size=32, intermediate_size=56, num_hidden_layers=3, num_attention_heads=4, vocab_size=100
    ),
}
EXPECTED_D_MLP = {"gpt2": 128, "llama": 48, "gpt_neox": 56}


def _tiny_model(model_type: str):
    config = copy.deepcopy(TINY_CONFIGS[model_type])
    config.num_labels = 1
    config.pad_token_id = 0
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config)


@pytest.mark.parametrize("model_type", sorted(TINY_CONFIGS))
def test_adapter_finds_per_layer_activation_modules(model_type):
    model = _tiny_model(model_type)
    adapter = get_adapter(model)
    assert adapter.model_type == model_type
    assert adapter.num_layers == 3
    assert len(adapter.layers) == 3
    assert adapter.d_mlp == EXPECTED_D_MLP[model_type]
    assert len({id(module) for module in adapter.activation_modules}) == 3

    seen: list[tuple[int, int]] = []
    handles = [
        module.register_forward_hook(lambda _m, _i, out, layer=i: seen.append((layer, out.shape[-1])))
        for i, module in enumerate(adapter.activation_modules)
    ]
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7, 8]]))
    for handle in handles:
        handle.remove()
    assert seen == [(0, adapter.d_mlp), (1, adapter.d_mlp), (2, adapter.d_mlp)]


def test_adapter_unshares_a_shared_activation_module():
    model = _tiny_model("llama")
    shared = model.model.layers[0].mlp.act_fn
    for layer in model.model.layers:
        layer.mlp.act_fn = shared
    adapter = get_adapter(model)
    assert len({id(module) for module in adapter.activation_modules}) == 3
    assert all(layer.mlp.act_fn is module for layer, module in zip(model.model.layers, adapter.activation_modules))


def test_adapter_accepts_base_model():
    model = _tiny_model("llama")
    assert get_adapter(model.model).num_layers == 3


def test_adapter_rejects_unsupported_architecture():
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=100)
    config.num_labels = 1
    model = AutoModelForSequenceClassification.from_config(config)
    with pytest.raises(UnsupportedArchitecture) as error:
        get_adapter(model)
    assert "bert" in str(error.value)
    assert "gpt2" in str(error.value)
    assert "llama" in str(error.value)


@pytest.mark.slow
def test_gguf_conversion_matches_direct_gguf_load(tmp_path):
    import time

    from transformers import AutoModelForCausalLM

    from rmbench.models.backbones import get_converted_gguf_backbone, gguf_file_path

    folder = get_converted_gguf_backbone(cache_dir=tmp_path)
    started = time.monotonic()
    assert get_converted_gguf_backbone(cache_dir=tmp_path) == folder
    assert time.monotonic() - started < 2.0

    source = gguf_file_path()
    direct = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name).state_dict()
    converted = AutoModelForCausalLM.from_pretrained(str(folder)).state_dict()
    assert sorted(converted) == sorted(direct)
    for name, tensor in direct.items():
        assert torch.equal(converted[name], tensor), name
