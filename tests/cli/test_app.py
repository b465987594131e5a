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
    assert refused.exit_code == 2 and "is a file; expected a folder" in refused.output


def test_image_build_refuses_an_unknown_docker_choice():
    refused = runner.invoke(app, ["image", "build", "--docker", "maybe"])
    assert refused.exit_code == 2 and "expected auto, yes or no" in refused.output
