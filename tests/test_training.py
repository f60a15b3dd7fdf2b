"""Reward-model training through TRL's RewardTrainer on a tiny random Llama."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from rmbench.data import PreferencePair, format_text
from rmbench.models import load_backbone, load_reward_model, reward_forward
from rmbench.training import TrainConfig, prepare_pairs, read_manifest, train_reward_model
from rmbench.training.trainer import (
    DROP_ENDS_WITH_PAD,
    DROP_IDENTICAL_AFTER_TRUNCATION,
    build_reward_config,
    last_complete_checkpoint,
)

TINY = dict(
    backbone="tiny-llama-random",
    objective="helpful",
    train_pairs=24,
    heldout_pairs=16,
    max_length=64,
    epochs=1,
    bootstrap=200,
    progress=False,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _pair(prompt: str, chosen: str, rejected: str) -> PreferencePair:
    return PreferencePair(prompt=prompt, chosen=chosen, rejected=rejected, subset="helpful-base", uid="0" * 40)


# ---------------------------------------------------------------------- configuration


def test_default_epochs_follow_the_paper():
    assert TrainConfig(backbone="tiny-llama-random", objective="helpful").num_epochs == 2
    assert TrainConfig(backbone="tiny-llama-random", objective="harmless").num_epochs == 2
    assert TrainConfig(backbone="tiny-llama-random", objective="mixed").num_epochs == 1
    assert TrainConfig(backbone="tiny-llama-random", objective="mixed", epochs=2).num_epochs == 2


def test_invalid_objective_raises():
    with pytest.raises(ValueError, match="objective"):
        TrainConfig(backbone="tiny-llama-random", objective="honest")


def test_cache_key_tracks_model_inputs_only(data_dir):
    base = TrainConfig(**TINY, data_dir=str(data_dir))
    key = base.cache_key()
    assert TrainConfig(**TINY, data_dir=str(data_dir)).cache_key() == key
    assert TrainConfig(**{**TINY, "seed": 1}, data_dir=str(data_dir)).cache_key() != key
    assert TrainConfig(**{**TINY, "learning_rate": 1e-4}, data_dir=str(data_dir)).cache_key() != key
    assert TrainConfig(**{**TINY, "train_pairs": 23}, data_dir=str(data_dir)).cache_key() != key
    assert TrainConfig(**{**TINY, "objective": "harmless"}, data_dir=str(data_dir)).cache_key() != key
    assert TrainConfig(**TINY, data_dir=str(data_dir), device="cpu", checkpoint_steps=7).cache_key() == key


def test_reward_config_overrides_trl_defaults(tmp_path):
    cfg = TrainConfig(**TINY, bf16=True)
    args = build_reward_config(cfg, tmp_path)
    assert args.learning_rate == 5e-5
    assert args.per_device_train_batch_size == 8
    assert args.lr_scheduler_type == "linear"
    assert args.gradient_checkpointing is False
    assert args.disable_dropout is True
    assert args.max_length == cfg.max_length
    assert args.bf16 is True
    assert args.report_to == []
    assert args.use_cpu is True


# ---------------------------------------------------------------------- tokenization


def test_prepare_pairs_truncates_from_the_left():
    _, tokenizer = load_backbone("tiny-llama-random")
    prompt = "\n\nHuman: " + "tell me a long story " * 40 + "\n\nAssistant:"
    prepared = prepare_pairs([_pair(prompt, "Sure, here it is.", "No.")], tokenizer, max_length=32)
    assert len(prepared) == 1
    assert prepared.truncated == 1
    assert len(prepared.chosen_ids[0]) == 32
    expected_tail = tokenizer(format_text(prompt, "Sure, here it is."))["input_ids"][-32:]
    assert prepared.chosen_ids[0] == expected_tail


def test_prepare_pairs_drops_pairs_identical_after_truncation():
    _, tokenizer = load_backbone("tiny-llama-random")
    tail = " and that is all I can say about it" * 10
    pairs = [
        _pair("\n\nHuman: hi\n\nAssistant:", "Yes" + tail, "No" + tail),
        _pair("\n\nHuman: hi\n\nAssistant:", "Yes", "No"),
    ]
    prepared = prepare_pairs(pairs, tokenizer, max_length=16)
    assert len(prepared) == 1
    assert prepared.dropped[DROP_IDENTICAL_AFTER_TRUNCATION] == 1


def test_prepare_pairs_drops_texts_ending_in_pad_token():
    _, tokenizer = load_backbone("tiny-llama-random")
    pairs = [_pair("\n\nHuman: hi\n\nAssistant:", "Hello" + tokenizer.pad_token, "Go away")]
    prepared = prepare_pairs(pairs, tokenizer, max_length=64)
    assert len(prepared) == 0
    assert prepared.dropped[DROP_ENDS_WITH_PAD] == 1


# ---------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory, data_dir):
    """The same tiny config trained twice into separate folders."""
    cfg = TrainConfig(**TINY, data_dir=str(data_dir))
    folders = [tmp_path_factory.mktemp(f"run{i}") for i in range(2)]
    manifests = [train_reward_model(cfg, folder) for folder in folders]
    return cfg, folders, manifests


def test_training_writes_model_and_manifest(trained_twice):
    cfg, folders, manifests = trained_twice
    folder, manifest = folders[0], manifests[0]
    assert (folder / "model.safetensors").is_file()
    assert not (folder / "checkpoints").exists()
    assert read_manifest(folder) == manifest
    assert manifest["cache_key"] == cfg.cache_key()

    data = manifest["data"]
    assert data["train_pairs_loaded"] == cfg.train_pairs
    assert data["train_pairs_trained"] == data["train_pairs_loaded"] - sum(data["dropped"].values())

    training = manifest["training"]
    assert training["steps"] == -(-data["train_pairs_trained"] // cfg.batch_size)
    assert training["wall_time_s"] > 0
    assert training["tokens_per_s"] > 0
    assert training["final_loss"] > 0
    for objective in ("helpful", "harmless"):
        heldout = manifest["heldout"][objective]
        assert heldout["n"] == cfg.heldout_pairs
        assert heldout["ci_low"] <= heldout["accuracy"] <= heldout["ci_high"]
    assert set(manifest["versions"]) >= {"torch", "transformers", "trl"}


def test_training_changes_the_weights(trained_twice):
    cfg, folders, _ = trained_twice
    initial, _ = load_backbone(cfg.backbone, seed=cfg.seed)
    trained = load_file(folders[0] / "model.safetensors")
    assert not torch.equal(trained["score.weight"], initial.score.weight)


def test_same_seed_gives_identical_weights(trained_twice):
    _, folders, manifests = trained_twice
    first = load_file(folders[0] / "model.safetensors")
    second = load_file(folders[1] / "model.safetensors")
    assert sorted(first) == sorted(second)
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name
    assert manifests[0]["heldout"] == manifests[1]["heldout"]


def test_trl_head_reads_reward_where_reward_forward_does(trained_twice):
    # TRL trains through the model's own head (last non-pad token, right padding); scoring uses
    # reward_forward (last attention_mask position). Both must read the same token.
    from trl.trainer.reward_trainer import DataCollatorForPreference

    _, folders, _ = trained_twice
    model, tokenizer = load_reward_model(folders[0])
    rows = [tokenizer(text)["input_ids"] for text in ("Hello there", "A much longer text than the first one", "Hi")]
    batch = DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)(
        [{"chosen_ids": rows[0], "rejected_ids": rows[1]}, {"chosen_ids": rows[2], "rejected_ids": rows[0]}]
    )
    with torch.no_grad():
        trl_rewards = model(**batch).logits.squeeze(-1)
        ours = reward_forward(model, batch["input_ids"], batch["attention_mask"])
    torch.testing.assert_close(ours, trl_rewards, atol=1e-5, rtol=0)


def test_last_complete_checkpoint_skips_unfinished(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
