"""The docker backend's image tag, its orphan reaping, and the hardening a container actually gets."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from grader import environment
from worker.sandbox import image as image_module
from worker.sandbox.docker import (
    DEADLINE_GRACE_S,
    LABEL,
    LABEL_DEADLINE,
    LABEL_HOST,
    LABEL_PID,
    LABEL_STARTED,
    _started,
)


def test_image_tag_is_a_hash_of_the_whole_declared_environment(monkeypatch):
    tag = image_module.image_tag()
    assert tag == environment.image_tag()
    assert tag.startswith(image_module.REPOSITORY + ":") and len(tag.split(":")[1]) == 12
    changes = {"DEBIAN_PACKAGES": ("python3", "extra-package"), "PYTHON": "3.11.9", "DEBIAN_SUITE": "trixie",
               "WHEELS": {**environment.WHEELS, "numpy": "2.4.5"}}
    for name, value in changes.items():
        with monkeypatch.context() as patch:
            patch.setattr(environment, name, value)
            assert image_module.image_tag() != tag, name
    assert image_module.image_tag() == tag


def test_dockerfile_installs_and_checks_the_declared_versions():
    dockerfile = image_module.dockerfile()
    assert f"FROM debian:{environment.DEBIAN_SUITE}-slim" in dockerfile
    for requirement in environment.requirements():
        assert requirement in dockerfile
    assert f"platform.python_version() == {environment.PYTHON!r}" in dockerfile
    assert image_module.image_tag() in dockerfile


@pytest.fixture
def docker_sandbox():
    from tests.grading.conftest import _sandbox

    return _sandbox("docker")


def test_orphans_of_a_dead_worker_are_reaped(docker_sandbox):
    import socket

    client = docker_sandbox.client
    dead_pid = 2**22 + 12345  # above pid_max's default: no process has it
    orphan = client.containers.create(docker_sandbox.image, ["true"], network_mode="none",
                                      labels={LABEL: "1", LABEL_HOST: socket.gethostname(),
                                              LABEL_PID: str(dead_pid)})
    alive = client.containers.create(docker_sandbox.image, ["true"], network_mode="none",
                                     labels={LABEL: "1", LABEL_HOST: socket.gethostname(),
                                             LABEL_PID: str(os.getpid())})
    try:
        removed = docker_sandbox.reap_orphans()
        assert orphan.name in removed and alive.name not in removed
        names = [c.name for c in client.containers.list(all=True)]
        assert orphan.name not in names and alive.name in names
    finally:
        alive.remove(force=True)


def _container(sandbox, **labels):
    return sandbox.client.containers.create(sandbox.image, ["true"], network_mode="none",
                                            labels={LABEL: "1", **{k: str(v) for k, v in labels.items()}})


def test_a_live_workers_containers_are_never_reaped_and_a_reused_pid_is_not_its_owner(docker_sandbox):
    here, me = socket.gethostname(), os.getpid()
    soon, long_ago = time.time() + 600, time.time() - DEADLINE_GRACE_S - 60
    keep = {
        "mine": _container(docker_sandbox, **{LABEL_HOST: here, LABEL_PID: me, LABEL_STARTED: _started(me),
                                              LABEL_DEADLINE: soon}),
        "other host, running": _container(docker_sandbox, **{LABEL_HOST: "another-node", LABEL_PID: 1,
                                                             LABEL_DEADLINE: soon}),
    }
    go = {
        "pid reused": _container(docker_sandbox, **{LABEL_HOST: here, LABEL_PID: me,
                                                    LABEL_STARTED: "another-boot:1", LABEL_DEADLINE: soon}),
        "other host, long past its deadline": _container(docker_sandbox, **{LABEL_HOST: "another-node",
                                                                            LABEL_PID: 1,
                                                                            LABEL_DEADLINE: long_ago}),
    }
    try:
        removed = set(docker_sandbox.reap_orphans())
        assert {c.name for c in go.values()} <= removed
        assert not {c.name for c in keep.values()} & removed, removed
    finally:
        for container in [*keep.values(), *go.values()]:
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - reaped already
                pass


@pytest.mark.parametrize("workers", ["one worker", "separate workers"])
def test_jobs_reaping_the_same_orphans_at_once_all_go_on(docker_sandbox, monkeypatch, workers):
    """Two jobs of one worker, or two workers, both find a dead worker's containers: no one fails."""
    import contextlib

    from worker.sandbox import docker as docker_module
    from worker.sandbox.docker import DockerSandbox

    if workers == "separate workers":  # processes do not share the lock: their removals really race
        monkeypatch.setattr(docker_module, "_reap_lock", contextlib.nullcontext())
    dead_pid = 2**22 + 54321
    orphans = [_container(docker_sandbox, **{LABEL_HOST: socket.gethostname(), LABEL_PID: dead_pid})
               for _ in range(6)]
    boxes = [DockerSandbox(client=docker_sandbox.client) for _ in range(4)]
    errors, removed, start = [], [], threading.Barrier(len(boxes))

    def reap(box):
        start.wait()
        try:
            removed.extend(box.reap_orphans())
        except Exception as error:  # noqa: BLE001 - the failure under test
            errors.append(error)

    threads = [threading.Thread(target=reap, args=(box,)) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    names = {c.name for c in docker_sandbox.client.containers.list(all=True)}
    assert not names & {c.name for c in orphans}
    assert sorted(removed) == sorted(c.name for c in orphans)  # each removed once, by one of them


def test_no_container_is_left_after_grading(docker_sandbox, mlp):
    from tests.grading.conftest import grade_json, submission

    before = {c.id for c in docker_sandbox.client.containers.list(all=True, filters={"label": LABEL})}
    result = grade_json(mlp, submission(mlp), docker_sandbox, suites=("public_tests",))
    assert result["status"] == "graded"
    after = {c.id for c in docker_sandbox.client.containers.list(all=True, filters={"label": LABEL})}
    assert after <= before
