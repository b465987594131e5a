"""Grade results for people: a per-test table for the terminal, and a CSV row per submission for a batch."""

from __future__ import annotations

from grader.result import Environment, GradeResult, Outcome, ResultStatus
from grader.spreadsheet import csv_text

_MARK = {Outcome.PASSED: "ok", Outcome.FAILED: "FAIL", Outcome.TIMEOUT: "TIME", Outcome.OUT_OF_MEMORY: "OOM",
         Outcome.CRASHED: "CRASH", Outcome.NOT_RUN: "NOTRUN", Outcome.SKIPPED: "SKIP",
         Outcome.INFRASTRUCTURE_ERROR: "INFRA"}
MESSAGE_CHARS = 90
CSV_FIELDS = ("submission", "status", "score", "max_score", "tests_passed", "tests", "seed", "tamper_proof",
              "seconds", "message")


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def format_table(result: GradeResult, label: str = "") -> str:
    """Per test: status, points, time, short message; then the total and how the run went."""
    integrity = result.integrity
    sandbox = result.sandbox.backend or "-"
    lines = [f"{result.assignment.name or '?'} (release {result.assignment.version or '?'})"
             + (f"  submission {label}" if label else "")
             + f"  sandbox {sandbox}" + (" (tamper-proof)" if integrity.tamper_proof else "")
             + f"  seed {result.seed}"]
    if result.status is not ResultStatus.GRADED:
        what = "REJECTED" if result.status is ResultStatus.REJECTED else "NOT GRADED"
        lines.append(f"{what}: {result.output}")
        return "\n".join(lines)
    tests = result.tests
    width = max((len(t.name) for t in tests), default=4)
    width = min(width, 80)
    lines.append(f"{'status':<7} {'points':>11} {'time':>7}  {'test':<{width}}  message")
    for test in tests:
        points = f"{test.score:.3g}/{test.max_score:.3g}"
        message = "" if test.passed else _first_line(test.output)
        lines.append(f"{_MARK.get(test.outcome, test.outcome.value):<7} {points:>11} {test.duration_s:>6.2f}s"
                     f"  {test.name:<{width}}  {message}".rstrip())
    passed = sum(t.passed for t in tests)
    peak = result.resources.peak_memory_mb if result.resources else None
    lines.append(f"Total: {result.score:g} / {result.max_score:g}  ({passed}/{len(tests)} tests passed; "
                 f"graded in {result.execution_time:.1f} s"
                 + (f", peak memory {peak:g} MB" if peak else "")
                 + ")")
    lines.append(environment_line(result.environment))
    if not integrity.tamper_proof:
        lines.append(f"Not tamper-proof: {integrity.note}")
    limits = [m for m in integrity.missing if m.guarantee != "separate_uids"]
    if limits:
        lines.append("Not confined: " + "; ".join(f"{m.guarantee}: {m.why}" for m in limits))
    if not result.complete:
        lines.append(result.output)
    if result.missing_files:
        lines.append(f"Missing from the zip (their tests fail): {', '.join(result.missing_files)}")
    return "\n".join(lines)


def environment_line(environment: Environment) -> str:
    """``Environment: Python 3.11.2, numpy 2.4.6, pytest 9.2.0 (image …, backend local)``; ``?``: unknown."""
    def seen(value: str | None) -> str:
        return value or "?"

    return (f"Environment: Python {seen(environment.python)}, numpy {seen(environment.numpy)}, "
            f"pytest {seen(environment.pytest)} "
            f"(image {seen(environment.image)}, backend {seen(environment.backend)})")


def csv_row(label: str, result: GradeResult) -> dict:
    """One submission's row of the batch CSV (``CSV_FIELDS``)."""
    tests = result.tests
    complete = result.graded and result.complete
    return {
        "submission": label, "status": result.status.value, "score": result.score,
        "max_score": result.max_score, "tests_passed": sum(t.passed for t in tests),
        "tests": len(tests), "seed": result.seed,
        # Blank for a result that never ran (a batch's zip whose grading raised), as before.
        "tamper_proof": None if result.partial else result.integrity.tamper_proof,
        "seconds": None if result.partial else result.execution_time,
        "message": "" if complete else _first_line(result.output),
    }


def format_csv(rows: list[dict]) -> str:
    """The batch's rows under a ``CSV_FIELDS`` header; a zip name or message a spreadsheet would run is
    escaped."""
    return csv_text([CSV_FIELDS, *([row.get(field) for field in CSV_FIELDS] for row in rows)])
