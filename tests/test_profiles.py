"""Run profiles and RM manifests: loading, overrides and the errors users see."""

import pytest

from rmbench.manifest import read_rm_manifest
from rmbench.profiles import available_profiles, load_profile


@pytest.mark.parametrize("name", ["tiny", "cpu", "paper"])
def test_shipped_profile_loads(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.backbones
    assert profile.seeds
    assert profile.training.learning_rate in (5e-5, 1e-4)  # 5e-5 as in Tanwar and Atanasova, or TRL's default 1e-4
    assert profile.training.batch_size == 8


@pytest.mark.parametrize("name", ["tiny", "cpu", "paper"])
def test_mixed_rm_gets_single_rm_steps(name):
    # The mixed RM trains on the union of both training sets, so one pass over it takes as many
    # steps as two passes of a single-objective RM, as Tanwar and Atanasova set it up.
    training = load_profile(name).training
    assert training.epochs_mixed * 2 == training.epochs_single


def test_unknown_profile_lists_shipped_ones():
    with pytest.raises(FileNotFoundError, match="tiny"):
        load_profile("no-such-profile")
    assert {"tiny", "cpu", "paper"} <= set(available_profiles())


def test_unknown_profile_key_is_rejected(tmp_path):
    text = open(load_profile("tiny").source).read()
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace("learning_rate:", "learnin_rate:"))
    with pytest.raises(ValueError, match="learnin_rate"):
        load_profile(path)


def test_overrides_restrict_backbones_and_seeds():
    profile = load_profile("paper").with_overrides(backbones=["gpt2"], seeds=[1])
    assert [b.name for b in profile.backbones] == ["gpt2"]
    assert profile.seeds == (1,)


def test_rm_manifest_resolves_local_paths(tmp_path):
    (tmp_path / "helpful-rm").mkdir()
    path = tmp_path / "rms.yaml"
    path.write_text(
        "models:\n"
        "  - backbone: smollm2-135m\n"
        "    seed: 2\n"
        "    helpful: helpful-rm\n"
        "    harmless: org/harmless-rm\n"
        "    mixed: org/mixed-rm\n"
    )
    [(backbone, seed, rm_paths)] = read_rm_manifest(path)
    assert backbone == "smollm2-135m"
    assert seed == 2
    assert rm_paths["helpful"] == str((tmp_path / "helpful-rm").resolve())
    assert rm_paths["harmless"] == "org/harmless-rm"


def test_rm_manifest_missing_objective_names_entry(tmp_path):
    path = tmp_path / "rms.yaml"
    path.write_text("models:\n  - backbone: gpt2\n    helpful: a\n    harmless: b\n")
    with pytest.raises(ValueError, match=r"models\[0\] lacks mixed"):
        read_rm_manifest(path)


def test_backbone_label_roundtrip():
    from rmbench.profiles import BackboneSpec

    spec = BackboneSpec.from_label("smollm2-135m-instruct-gguf@6L")
    assert spec == BackboneSpec("smollm2-135m-instruct-gguf", 6)
    assert spec.label == "smollm2-135m-instruct-gguf@6L"
    assert BackboneSpec.from_label("gpt2") == BackboneSpec("gpt2")
    with pytest.raises(ValueError, match="gpt2@six"):
        BackboneSpec.from_label("gpt2@six")


def test_profile_typo_at_top_level_is_rejected(tmp_path):
    text = open(load_profile("tiny").source).read()
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace("seeds:", "seed:"))
    with pytest.raises(ValueError, match=r"missing keys \['seeds'\], unknown keys \['seed'\]"):
        load_profile(path)


def test_unlisted_backbone_override_is_rejected():
    with pytest.raises(ValueError, match="not in profile 'tiny'"):
        load_profile("tiny").with_overrides(backbones=["gpt2"])
    assert load_profile("tiny").with_overrides(backbones=["smollm2-135m-instruct-gguf@6L"]).backbones


def test_rm_manifest_rejects_missing_local_path(tmp_path):
    path = tmp_path / "rms.yaml"
    path.write_text("models:\n  - backbone: gpt2\n    helpful: /nope/helpful\n    harmless: a/b\n    mixed: c/d\n")
    with pytest.raises(FileNotFoundError, match=r"models\[0\].helpful: local model folder /nope/helpful not found"):
        read_rm_manifest(path)
