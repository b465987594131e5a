"""The beras-grader command line: --version, --help and the demo command's options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import grader
from grader.cli import app

runner = CliRunner()


def flat(output: str) -> str:
    """``output`` on one line, without the frame Typer draws around an error (it wraps long messages)."""
    return " ".join(output.replace("│", " ").split())


def test_version_via_cli_runner():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"beras-grader {grader.__version__}"


def test_version_matches_beras_and_package_metadata():
    from importlib.metadata import version

    import beras

    assert grader.__version__ == beras.__version__ == version("beras-grader")


def test_help_lists_demo_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
    assert "--version" in result.output


def test_train_help_lists_its_options():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for option in ("--epochs-mlp", "--epochs-cnn", "--seed"):
        assert option in result.output


def test_demo_help_lists_its_options():
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--sandbox", "--seed", "--full"):
        assert option in result.output


COMMANDS = [["demo"], ["train"], ["release"], ["grade"], ["image"], ["image", "build"],
            ["image", "dockerfile"], ["image", "tag"], ["serve"], ["worker"], ["reconcile"], ["users"],
            ["users", "add"], ["users", "import"], ["new"], ["check"], ["archive"], ["delete"]]


def test_help_lists_every_command():
    listed = runner.invoke(app, ["--help"]).output
    for command in {words[0] for words in COMMANDS}:
        assert command in listed, command


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help(words):
    result = runner.invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and " ".join(words) in result.output


def test_unknown_command_fails():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code != 0


def _script() -> Path:
    return Path(sys.executable).parent / "beras-grader"


@pytest.mark.skipif(not _script().exists(), reason="beras-grader script not installed next to this python")
def test_installed_script_prints_version():
    result = subprocess.run([str(_script()), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"beras-grader {grader.__version__}"


@pytest.mark.skipif(not _script().exists(), reason="beras-grader script not installed next to this python")
def test_installed_script_help_lists_demo():
    result = subprocess.run([str(_script()), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout


def test_image_tag_and_dockerfile_come_from_the_declared_environment(tmp_path):
    from grader import environment

    assert runner.invoke(app, ["image", "tag"]).output.strip() == environment.image_tag()
    written = runner.invoke(app, ["image", "dockerfile", str(tmp_path / "ctx")])
    assert written.exit_code == 0, written.output
    dockerfile = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert f"numpy=={environment.WHEELS['numpy']}" in dockerfile and environment.image_tag() in dockerfile
    (tmp_path / "file").write_text("")
    refused = runner.invoke(app, ["image", "dockerfile", str(tmp_path / "file")])
    # Typer's wording (was ours: "... is a file; expected a folder"): the argument, the path, what is wrong.
    assert refused.exit_code == 2 and f"'folder': dir '{tmp_path / 'file'}' is a file" in flat(refused.output)


def test_image_build_refuses_an_unknown_docker_choice():
    refused = runner.invoke(app, ["image", "build", "--docker", "maybe"])
    # Typer's wording (was ours: "expected auto, yes or no").
    assert refused.exit_code == 2
    assert "'--docker': Value error, 'maybe' is not one of 'auto', 'yes', 'no'" in flat(refused.output)


def test_typer_checks_paths_and_ranges_and_names_what_was_wrong(tmp_path):
    """Typer's own checks, before any work: each message names the option or argument and the path."""
    missing = runner.invoke(app, ["grade", "assignments/beras-mlp", str(tmp_path / "nope.zip")])
    assert missing.exit_code == 2
    assert f"'submission': path '{tmp_path / 'nope.zip'}' does not exist" in flat(missing.output)
    roster = runner.invoke(app, ["users", "import", str(tmp_path)])
    assert roster.exit_code == 2 and f"'roster': file '{tmp_path}' is a directory" in flat(roster.output)
    seeds = runner.invoke(app, ["check", "beras-mlp", "--seeds", "21"])
    assert seeds.exit_code == 2 and "'--seeds'" in flat(seeds.output)
    nowhere = runner.invoke(app, ["new", "beras-x", "--assignments-dir", str(tmp_path / "none")])
    assert nowhere.exit_code == 2 and f"dir '{tmp_path / 'none'}' does not exist" in flat(nowhere.output)


def test_release_refuses_a_keep_stage_that_is_a_file_without_a_traceback(tmp_path):
    (tmp_path / "stage").write_text("")
    refused = runner.invoke(app, ["release", "beras-mlp", "--out", str(tmp_path / "out"),
                                  "--keep-stage", str(tmp_path / "stage")])
    assert refused.exit_code == 2, refused.output
    assert f"'--keep-stage': dir '{tmp_path / 'stage'}' is a file" in flat(refused.output)
    assert not (tmp_path / "out").exists()
