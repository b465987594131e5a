"""The local sandbox where the machine lacks a part: the run still works and its result names what is
missing."""

from __future__ import annotations

import time

import pytest

from grader.result import GradeResult
from tests.grading.conftest import grade_json, submission
from tests.grading.test_adversarial import (
    ACCURACY_BODY,
    CPU_HOG,
    READ_KEY,
    STORE_KEY,
    _key_on_host,
    _keyctl,
    inject,
)
from worker.grading.report import format_table
from worker.sandbox import seccomp
from worker.sandbox.local import LocalSandbox

SUITE = ("hidden_tests/test_metrics_onehot.py",)


@pytest.fixture
def bare(local_sandbox, monkeypatch) -> LocalSandbox:
    """The local sandbox on a machine without writable cgroups and without seccomp."""
    sandbox = LocalSandbox(local_sandbox.bwrap)
    sandbox.hierarchy = None
    monkeypatch.setattr(seccomp, "kernel_supports_seccomp", lambda: False)
    return sandbox


def test_without_cgroups_and_seccomp_the_result_names_what_is_missing(mlp, bare):
    result = grade_json(mlp, submission(mlp), bare, seed=5, suites=SUITE)
    assert result["status"] == "graded" and result["complete"], result["output"]
    assert result["score"] == pytest.approx(result["max_score"])
    integrity = result["integrity"]
    assert integrity["tamper_proof"] is True and integrity["confined"] is False
    missing = {m["guarantee"]: m["why"] for m in integrity["missing"]}
    assert missing == {"job_memory_limit": "this machine has no cgroup file system",
                       "job_cpu_limit": "this machine has no cgroup file system",
                       "job_pids_limit": "this machine has no cgroup file system",
                       "syscall_filter": "this kernel has no seccomp"}
    assert result["resources"]["memory_limit_mb"] is None and result["resources"]["cpu_s"] is not None
    table = format_table(GradeResult.from_json(result))
    assert "Not confined: job_memory_limit: this machine has no cgroup file system" in table
    assert "syscall_filter: this kernel has no seccomp" in table


def test_a_confined_run_says_so(mlp, local_sandbox):
    result = grade_json(mlp, submission(mlp), local_sandbox, seed=5, suites=SUITE)
    assert result["integrity"]["confined"] is True and result["integrity"]["missing"] == []
    assert "Not confined" not in format_table(GradeResult.from_json(result))


def test_each_job_has_its_own_session_keyring_even_without_the_filter(mlp, bare):
    """With keyring calls allowed (no seccomp), a key a job stores stays in the job's own session keyring."""
    # the grading process has a session keyring to leak (see the corpus)
    assert _keyctl("keyctl", 1, None) >= 0
    name = f"beras-local-{time.monotonic_ns()}"
    store = grade_json(mlp, submission(mlp, replace=inject(ACCURACY_BODY, STORE_KEY.format(name=name))), bare,
                      seed=5, suites=SUITE)
    read = grade_json(mlp, submission(mlp, replace=inject(ACCURACY_BODY, READ_KEY.format(name=name))), bare,
                     seed=5, suites=SUITE)
    assert not _key_on_host(name)
    for result in (store, read):  # storing worked (nothing refused it) and reading found nothing
        assert result["score"] == pytest.approx(result["max_score"]), [t["output"] for t in result["tests"]]


def test_two_jobs_in_flight_do_not_count_each_others_cpu(mlp, local_sandbox):
    """Each job's CPU seconds are its own cgroup's: a job that sleeps while another burns CPU and ends costs
    what it costs alone. The worker's RUSAGE_CHILDREN, read around one job (the figure before the job
    cgroups), saw neither job's processes inside bubblewrap's pid namespace (0.008 s for a job alone:
    ``alone > 0.2`` fails on it), nor could it tell two jobs apart (the sleeper's bound)."""
    import threading

    nap = "if probs.shape[0] == 37:\n    import time\n    time.sleep(10)\n"
    sleeper = submission(mlp, replace=inject(ACCURACY_BODY, nap))
    hog = submission(mlp, replace=inject(ACCURACY_BODY, CPU_HOG))
    results = {}

    def run(name: str, zip_bytes: bytes) -> None:
        results[name] = grade_json(mlp, zip_bytes, local_sandbox, seed=5, suites=SUITE, call_timeout_s=120)

    run("alone", sleeper)
    threads = [threading.Thread(target=run, args=("sleeper", sleeper)),
               threading.Thread(target=run, args=("hog", hog))]
    for thread in threads:
        thread.start()
        time.sleep(0.5)  # the sleeper first: the hog starts and ends while it sleeps
    for thread in threads:
        thread.join()
    for result in results.values():
        assert result["score"] == pytest.approx(result["max_score"]), result["output"]
    alone, sleeper_cpu, hog_cpu = (results[name]["resources"]["cpu_s"]
                                   for name in ("alone", "sleeper", "hog"))
    assert alone > 0.2  # the job's own processes are counted (pytest and numpy take more than this)
    assert hog_cpu > 2.0  # 64 processes for 4 s: at least one core for half of it
    assert sleeper_cpu <= alone * 1.5 + 0.5, (alone, sleeper_cpu, hog_cpu)
