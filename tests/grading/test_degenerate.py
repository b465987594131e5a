"""Each assignment's hand-written degenerate submissions, graded in a real sandbox, earn nothing where they
must not.

They are the exploits of issue 14 (constant losses and zero gradients with a made-up training
history and a predict that looks the digits up; a model that memorises; a correct but slow
Conv2D that also slowed the call the speed test used to subtract as overhead). Each is graded
on the test files it used to earn points in, to keep the run short; the release gate grades
them on everything (tests/authoring/test_release_assignments.py). Last, ``pause_student``
through each sandbox's launcher: a thread of the student's stands still while the judge
times something else.
"""

from __future__ import annotations

import shutil

import pytest

from grader.authoring.release import stage_autograder
from grader.authoring.released import load_released
from tests.grading.conftest import REPO, grade_json
from worker.grading.samples import build_zip, degenerates

# The test files each case earned points in before the suites were fixed.
EXPLOITED = {
    ("beras-mlp", "lookup"): ("hidden_tests/test_training.py", "hidden_tests/test_losses.py",
                              "hidden_tests/test_gradient_tape.py", "hidden_tests/test_model.py"),
    ("beras-mlp", "memorise"): ("hidden_tests/test_training.py", "hidden_tests/test_model.py"),
    ("beras-cnn", "lookup"): ("hidden_tests/test_cnn_training.py", "hidden_tests/test_conv_layer.py",
                              "public_tests/test_sanity_conv.py"),
    ("beras-cnn", "memorise"): ("hidden_tests/test_cnn_training.py",),
    ("beras-cnn", "slow"): ("hidden_tests/test_conv_speed.py",),
}


def test_every_case_is_graded_here(releases):
    found = {(name, sample.name) for name in ("beras-mlp", "beras-cnn")
             for sample in degenerates(releases[name])}
    assert found == set(EXPLOITED)


def _graded(releases, sandbox, assignment: str, case: str, seed: int) -> dict:
    sample = next(s for s in degenerates(releases[assignment]) if s.name == case)
    result = grade_json(releases[assignment], sample.zip_bytes, sandbox, seed=seed,
                        suites=EXPLOITED[assignment, case])
    assert result["status"] == "graded" and result["complete"], result["output"]
    return result


@pytest.mark.parametrize("assignment,case", [key for key in EXPLOITED if key[1] != "slow"])
def test_a_case_that_solves_nothing_earns_nothing(releases, local_sandbox, assignment, case):
    result = _graded(releases, local_sandbox, assignment, case, seed=5)
    earned = [f"{t['name']} ({t['score']:g})" for t in result["tests"] if t["score"] > 0]
    assert result["score"] == 0, f"{assignment}/{case} earned {result['score']:g}: {', '.join(earned)}"


def test_a_slow_conv2d_earns_no_speed_points_whatever_it_does_to_the_harness(releases, sandbox):
    """The student process is stopped while the reference is timed, and nothing of it is subtracted."""
    result = _graded(releases, sandbox, "beras-cnn", "slow", seed=5)
    speed = result["tests"][0]
    assert speed["outcome"] == "failed" and speed["score"] == 0, speed["output"]
    assert "the reference's time" in speed["output"] and "at most 10x passes" in speed["output"]


PAUSE_TEST = '''
import time

from grader.harness import fetch


def test_the_student_stands_still_while_paused(student, pause_student):
    student.beras.ops.start_clock()
    time.sleep(0.3)  # the clock runs
    with pause_student():
        time.sleep(1.0)
    time.sleep(0.3)
    gap = fetch(student.beras.ops.longest_gap())
    assert gap >= 0.8, f"the student's clock thread went on while paused: its longest gap was {gap:.3f} s"
'''

CLOCK = '''
import threading
import time

import numpy as np

_ticks = []


def _tick():
    while True:
        _ticks.append(time.monotonic())
        time.sleep(0.005)


def start_clock():
    threading.Thread(target=_tick, daemon=True).start()


def longest_gap():
    return float(np.diff(_ticks).max())


def double(x):
    return np.asarray(x) * 2.0


def scale_sum(x, factor):
    return float(np.asarray(x).sum() * factor)
'''


def test_pause_student_stops_the_student_in_the_sandbox(tmp_path, sandbox):
    """In the sandbox the launcher stops the student uid's processes: a thread of the student's stands
    still."""
    toy = tmp_path / "toy"
    shutil.copytree(REPO / "tests" / "authoring" / "toy", toy)
    (toy / "assignments/toy/hidden_tests/test_pause.py").write_text(PAUSE_TEST)
    released = load_released(stage_autograder(toy / "assignments/toy", tmp_path / "out",
                                              reference_package=toy / "reference/beras"))
    result = grade_json(released, build_zip({"beras/ops.py": CLOCK}), sandbox, seed=1,
                       suites=("hidden_tests/test_pause.py",))
    assert result["status"] == "graded" and result["integrity"]["tamper_proof"], result["output"]
    assert [t["outcome"] for t in result["tests"]] == ["passed"], result["tests"][0]["output"]
