"""docker-compose.yml validates with docker-compose and holds the production topology."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from tests.grading.conftest import REQUIRE_SANDBOXES
from tests.service.processes import REPO, have


def _config(**env: str) -> subprocess.CompletedProcess:
    if not have("docker-compose"):
        if REQUIRE_SANDBOXES:
            pytest.fail("docker-compose is required here (make test installs it)")
        pytest.skip("not run: docker-compose is not installed")
    return subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"], cwd=REPO,
                          env={**{k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}, **env},
                          capture_output=True, text=True, timeout=60)


def test_compose_file_validates_and_has_the_topology():
    done = _config(POSTGRES_PASSWORD="secret")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == {"api", "worker-cpu", "worker-gpu", "redis", "postgres"}
    assert all("healthcheck" in service for service in services.values())
    for name in ("worker-cpu", "worker-gpu"):
        assert any("/var/run/docker.sock" in str(volume) for volume in services[name]["volumes"])
        assert services[name]["environment"]["GRADER_BROKER_URL"] == "redis://redis:6379/0"
    assert "cpu,regrade" in services["worker-cpu"]["command"]
    assert services["worker-gpu"]["command"][services["worker-gpu"]["command"].index("--queues") + 1] == "gpu"
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "appendonly" in " ".join(services["redis"]["command"])
    assert services["api"]["environment"]["GRADER_DATABASE_URL"].startswith("postgresql://grader:secret@postgres")
    # Behind the course's TLS proxy: the session cookie is Secure, and the proxy's X-Forwarded-* are believed.
    assert services["api"]["environment"]["GRADER_SECURE_COOKIES"] == "always"
    assert services["api"]["environment"]["GRADER_FORWARDED_ALLOW_IPS"] == "*"
    assert all(str(port).startswith("127.0.0.1:") for port in services["api"]["ports"]) or \
        all(port.get("host_ip") == "127.0.0.1" for port in services["api"]["ports"])


def test_compose_refuses_to_run_without_a_database_password():
    done = _config()
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr
