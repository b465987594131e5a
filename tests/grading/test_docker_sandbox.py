"""The docker backend's image tag, its orphan reaping, and the hardening a container actually gets."""

from __future__ import annotations

import os

import pytest

from worker.sandbox import image as image_module
from worker.sandbox.docker import LABEL, LABEL_HOST, LABEL_PID


def test_image_tag_is_a_hash_of_the_package_list(monkeypatch):
    tag = image_module.image_tag()
    assert tag.startswith(image_module.REPOSITORY + ":") and len(tag.split(":")[1]) == 12
    monkeypatch.setattr(image_module, "packages_file", lambda: "python3\npython3-numpy\nextra-package\n")
    assert image_module.image_tag() != tag


def test_dockerfile_installs_the_same_package_list():
    folder = image_module.Path(image_module.__file__).resolve().parent.parent / "images" / "sandbox"
    dockerfile = (folder / "Dockerfile").read_text()
    assert "packages.txt" in dockerfile and "FROM debian:bookworm" in dockerfile
    assert image_module.packages() == ["python3", "python3-numpy", "python3-pytest", "python3-sklearn"]


@pytest.fixture
def docker_sandbox():
    from tests.grading.conftest import _sandbox

    return _sandbox("docker")


def test_orphans_of_a_dead_worker_are_reaped(docker_sandbox):
    import socket

    client = docker_sandbox.client
    dead_pid = 2**22 + 12345  # above pid_max's default: no process has it
    orphan = client.containers.create(docker_sandbox.image, ["true"], network_mode="none",
                                      labels={LABEL: "1", LABEL_HOST: socket.gethostname(), LABEL_PID: str(dead_pid)})
    alive = client.containers.create(docker_sandbox.image, ["true"], network_mode="none",
                                     labels={LABEL: "1", LABEL_HOST: socket.gethostname(), LABEL_PID: str(os.getpid())})
    try:
        removed = docker_sandbox.reap_orphans()
        assert orphan.name in removed and alive.name not in removed
        names = [c.name for c in client.containers.list(all=True)]
        assert orphan.name not in names and alive.name in names
    finally:
        alive.remove(force=True)


def test_no_container_is_left_after_grading(docker_sandbox, mlp):
    from tests.grading.conftest import submission
    from worker.grading.grade import grade_zip

    before = {c.id for c in docker_sandbox.client.containers.list(all=True, filters={"label": LABEL})}
    result = grade_zip(mlp, submission(mlp), docker_sandbox, suites=("public_tests",))
    assert result["status"] == "graded"
    after = {c.id for c in docker_sandbox.client.containers.list(all=True, filters={"label": LABEL})}
    assert after <= before
