"""The rmbench command line: listings and the golden-record guard."""

from rmbench import cli, golden


def test_tasks_lists_offline_counts(capsys, data_dir, monkeypatch):
    monkeypatch.setenv("RMBENCH_DATA_DIR", str(data_dir))
    assert cli.main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "llmbar-natural" in out
    assert "xstest-should-refuse-reconstructed" in out
    assert "not available offline" in out


def test_backbones_lists_architectures(capsys):
    assert cli.main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m-instruct-gguf" in out
    assert "gpt_neox" in out


def test_golden_record_rejects_dirty_tree(monkeypatch, capsys):
    monkeypatch.setattr(golden, "working_tree_dirty", lambda: True)
    assert cli.main(["golden", "record", "--profile", "tiny"]) == 2
    assert "dirty working tree" in capsys.readouterr().err


def test_unknown_profile_fails_with_one_line(capsys):
    assert cli.main(["train", "--profile", "no-such-profile"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rmbench: error: profile 'no-such-profile' not found")
    assert "Traceback" not in err
