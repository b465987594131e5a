"""Check 6 of the release gate: two runs of the reference with the same seed give identical results."""

from __future__ import annotations

from grader.authoring.suite import SuiteRun
from grader.authoring.verdicts import Check
from grader.judge_results import JudgeTest


def check_determinism(first: SuiteRun, second: SuiteRun, seed: int) -> Check:
    """Check 6: two runs of the reference with the same seed agree, test by test; a difference names the
    test, what differed (status, score, fetched values) and how to seed it."""
    if not first.results or not second.results:
        return Check(6, "deterministic", False, "a reference run gave no results")
    one = {t.name: t for t in first.tests()}
    two = {t.name: t for t in second.tests()}
    details = []
    for name in sorted(one.keys() | two.keys()):
        what = _difference(one.get(name), two.get(name))
        if what:
            details.append(f"{name}: differs between two runs with seed {seed}: {what}")
    if details:
        details.append(_UNSEEDED_FIX)
    differ = len(details) - 1 if details else 0
    return Check(6, "deterministic", not details, f"2 runs with seed {seed}: "
                 f"{'identical' if not details else f'{differ} differ'} ({len(one)} tests)", details)


_UNSEEDED_FIX = ("to fix: draw every random input from the test's `rng` (or `seed`) fixture, never "
                 "from np.random or an unseeded default_rng(); and seed Beras's own generator (weights, "
                 "shuffling) from it before building layers: `student.beras.set_seed(seed)` (and "
                 "`reference.beras.set_seed(seed)`), as hidden_tests/conftest.py of beras-mlp does in an "
                 "autouse fixture")


def _difference(one: JudgeTest | None, two: JudgeTest | None) -> str:
    """How one test's two records differ ('' when they do not): status, score, or the values it fetched."""
    if one is None or two is None:
        return f"it ran only in the {'second' if one is None else 'first'} run"
    parts = []
    if one.status != two.status:
        parts.append(f"status {one.status} then {two.status}")
    if one.score != two.score:
        parts.append(f"score {one.score:g} then {two.score:g}")
    if one.fetch_digest != two.fetch_digest:
        parts.append("the values it fetched from the student's side" + _first_fetch(one, two) + (
            "" if parts else " (same status and score: the inputs or Beras's weights were drawn unseeded)"))
    return "; ".join(parts)


def _first_fetch(one: JudgeTest, two: JudgeTest) -> str:
    """Where the two runs' fetch logs (``--fetch-log``) part: the first fetch that differs, or ''."""
    first, second = one.fetches, two.fetches
    if first is None or second is None:
        return ""
    for a, b in zip(first, second):
        if a != b:
            number, what = a.split(':')[0].split(' ', 1)[0], a.split(' ', 1)[-1].rsplit(':', 1)[0]
            return f", first at fetch {number} ({what})"
    if len(first) != len(second):
        return f", {len(first)} fetches then {len(second)}"
    return ""
