"""The pytest plugin, run on tiny test files with pytester: fixtures, options, seeds, header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness.conftest import write_package

PLUGIN = ["-p", "grader.harness.plugin"]


@pytest.fixture
def submission(pytester: pytest.Pytester) -> Path:
    return write_package(pytester.path / "submission", {
        "beras/__init__.py": """
            def answer():
                return 42

            def fail():
                raise NotImplementedError("Dense.forward is not written yet")
        """,
    })


@pytest.fixture
def fake_reference(pytester: pytest.Pytester) -> Path:
    return write_package(pytester.path / "reference_dir", {
        "beras/__init__.py": """
            import os

            NAME = "fake-reference"
            _backend = ["numpy"]

            def answer():
                return 7

            def pid():
                return os.getpid()

            def get_backend():
                return _backend[0]

            def set_backend(name):
                _backend[0] = name
        """,
    })


def test_student_fixture_reaches_the_submission(pytester, submission):
    pytester.makepyfile(test_student="""
        from grader.harness import Handle, fetch

        def test_answer(student):
            assert isinstance(student, Handle)
            assert fetch(student.beras.answer()) == 42
    """)
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission))
    result.assert_outcomes(passed=1)


def test_student_errors_fail_the_test_with_the_call(pytester, submission):
    pytester.makepyfile(test_student="""
        def test_fail(student):
            student.beras.fail()
    """)
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*student.beras.fail() raised NotImplementedError: Dense.forward is not written yet*"])


def test_submission_defaults_to_the_rootdir(pytester):
    write_package(pytester.path, {"beras/__init__.py": "VALUE = 'from the rootdir'\n"})
    pytester.makepyfile(test_default="""
        from grader.harness import fetch

        def test_value(student):
            assert fetch(student.beras.VALUE) == "from the rootdir"
    """)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)


def test_reference_without_the_option_fails_with_the_hidden_tests_message(pytester, submission):
    pytester.makepyfile(test_reference="""
        def test_uses_reference(reference):
            pass
    """)
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the `reference` fixture exists only where the grader runs hidden tests*"])


def test_reference_option_gives_the_reference_module(pytester, submission, fake_reference):
    # A subprocess: this process has already imported the real reference as `beras`.
    pytester.makepyfile(test_reference=f"""
        from pathlib import Path

        from grader.harness import fetch

        def test_both_sides(student, reference):
            assert reference.beras.NAME == "fake-reference"
            assert reference.beras.answer() == 7
            folder = Path({str(fake_reference)!r}).resolve()
            assert Path(reference.beras.__file__).resolve().is_relative_to(folder)
            assert fetch(student.beras.answer()) == 42  # the student's beras is still the student's
    """)
    result = pytester.runpytest_subprocess(*PLUGIN, "--submission", str(submission),
                                           "--reference", str(fake_reference))
    result.assert_outcomes(passed=1)


def test_reference_process_serves_the_reference_from_a_process_of_its_own(pytester, submission,
                                                                          fake_reference):
    # A subprocess, as above: this process has already imported the real reference.
    pytester.makepyfile(test_timed="""
        import os

        from grader.harness import fetch

        def test_reference_process(student, reference, reference_process, pause_student):
            assert fetch(reference_process.beras.answer()) == reference.beras.answer() == 7
            assert fetch(reference_process.beras.pid()) != os.getpid()
            with pause_student():  # the student is imported in this process: nothing to stop
                assert fetch(student.beras.answer()) == 42
    """)
    result = pytester.runpytest_subprocess(*PLUGIN, "--submission", str(submission),
                                           "--reference", str(fake_reference))
    result.assert_outcomes(passed=1)


def test_reference_process_without_the_option_fails_with_the_hidden_tests_message(pytester, submission):
    pytester.makepyfile(test_timed="def test_timed(reference_process):\n    pass\n")
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the `reference` fixture exists only where the grader runs hidden tests*"])


def test_reference_option_needs_a_beras_package(pytester, submission):
    empty = pytester.mkdir("empty")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess(*PLUGIN, "--submission", str(submission),
                                           "--reference", str(empty))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reference*no beras/__init__.py there*"])


def test_reference_option_refuses_an_already_imported_beras(pytester, submission, fake_reference):
    # In this process `beras` is the real reference already: the plugin must not hand it out
    # as if it were the one named by --reference.
    import beras  # noqa: F401

    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess(*PLUGIN, "--submission", str(submission),
                                          "--reference", str(fake_reference))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reference: beras was already imported*"])


SEED_TESTS = """
    import numpy as np

    def test_first(seed, rng):
        assert rng.random() == np.random.default_rng(seed).random()
        print(f"SEED first {seed}")

    def test_second(seed):
        print(f"SEED second {seed}")

    def test_first_again(seed, request):
        print(f"SEED again {seed}")
"""


def run_seeds(pytester, submission, *args) -> dict[str, int]:
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission), "-s", *args)
    result.assert_outcomes(passed=3)
    return {name: int(value) for name, value in re.findall(r"SEED (\w+) (\d+)", result.stdout.str())}


def test_seed_is_stable_per_run_seed_and_test(pytester, submission):
    pytester.makepyfile(test_seeds=SEED_TESTS)
    first = run_seeds(pytester, submission, "--seed", "1234")
    again = run_seeds(pytester, submission, "--seed", "1234")
    other = run_seeds(pytester, submission, "--seed", "1235")
    assert set(first) == {"first", "second", "again"}
    assert first == again  # same --seed, same test: same seed
    assert len(set(first.values())) == 3  # different tests: different seeds
    assert all(first[name] != other[name] for name in first)  # different --seed: different seeds
    assert all(0 <= value < 2**32 for value in first.values())


def test_seed_does_not_depend_on_which_tests_run(pytester, submission):
    pytester.makepyfile(test_seeds=SEED_TESTS)
    everything = run_seeds(pytester, submission, "--seed", "77")
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission), "-s", "--seed", "77",
                                "-k", "second")
    result.assert_outcomes(passed=1, deselected=2)
    assert re.findall(r"SEED second (\d+)", result.stdout.str()) == [str(everything["second"])]


def test_header_prints_the_seed(pytester, submission):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest(*PLUGIN, "--submission", str(submission), "--seed", "4321")
    result.stdout.fnmatch_lines(
        [f"beras harness: submission {submission.resolve()}, seed 4321 (replay with --seed 4321)"])


def test_header_prints_a_fresh_seed_without_the_option(pytester, submission):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    seeds = []
    for _ in range(2):
        result = pytester.runpytest(*PLUGIN, "--submission", str(submission))
        match = re.search(r"seed (\d+) \(replay with --seed (\d+)\)", result.stdout.str())
        assert match and match.group(1) == match.group(2)
        seeds.append(int(match.group(1)))
    assert seeds[0] != seeds[1]
