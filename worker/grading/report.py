"""Grade results for people: a per-test table for the terminal, and a CSV row per submission for a batch."""

from __future__ import annotations

from grader.spreadsheet import csv_text
from worker.grading.results import GRADED, REJECTED

_MARK = {"passed": "ok", "failed": "FAIL", "timeout": "TIME", "out_of_memory": "OOM", "crashed": "CRASH",
         "not_run": "NOTRUN", "skipped": "SKIP", "infrastructure_error": "INFRA"}
MESSAGE_CHARS = 90
CSV_FIELDS = ("submission", "status", "score", "max_score", "tests_passed", "tests", "seed", "tamper_proof",
              "seconds", "message")


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def format_table(result: dict, label: str = "") -> str:
    """Per test: status, points, time, short message; then the total and how the run went."""
    assignment = result.get("assignment", {})
    integrity = result.get("integrity", {})
    sandbox = result.get("sandbox", {}).get("backend") or "-"
    lines = [f"{assignment.get('name', '?')} (release {assignment.get('version', '?')})"
             + (f"  submission {label}" if label else "")
             + f"  sandbox {sandbox}" + (" (tamper-proof)" if integrity.get("tamper_proof") else "")
             + f"  seed {result.get('seed')}"]
    if result.get("status") != GRADED:
        what = "REJECTED" if result.get("status") == REJECTED else "NOT GRADED"
        lines.append(f"{what}: {result.get('output', '')}")
        return "\n".join(lines)
    tests = result.get("tests", [])
    width = max((len(t["name"]) for t in tests), default=4)
    width = min(width, 80)
    lines.append(f"{'status':<7} {'points':>11} {'time':>7}  {'test':<{width}}  message")
    for test in tests:
        points = f"{test['score']:.3g}/{test['max_score']:.3g}"
        message = "" if test["outcome"] == "passed" else _first_line(test.get("output", ""))
        lines.append(f"{_MARK.get(test['outcome'], test['outcome']):<7} {points:>11} {test.get('duration_s', 0):>6.2f}s"
                     f"  {test['name']:<{width}}  {message}".rstrip())
    passed = sum(t["outcome"] == "passed" for t in tests)
    resources = result.get("resources", {})
    lines.append(f"Total: {result['score']:g} / {result['max_score']:g}  ({passed}/{len(tests)} tests passed; "
                 f"graded in {result.get('execution_time', 0):.1f} s"
                 + (f", peak memory {resources['peak_memory_mb']:g} MB" if resources.get("peak_memory_mb") else "")
                 + ")")
    lines.append(environment_line(result.get("environment") or {}))
    if not integrity.get("tamper_proof"):
        lines.append(f"Not tamper-proof: {integrity.get('note', '')}")
    limits = [m for m in integrity.get("missing", []) if m.get("guarantee") != "separate_uids"]
    if limits:
        lines.append("Not confined: " + "; ".join(f"{m.get('guarantee')}: {m.get('why')}" for m in limits))
    if not result.get("complete", True):
        lines.append(result.get("output", ""))
    missing = result.get("submission", {}).get("missing")
    if missing:
        lines.append(f"Missing from the zip (their tests fail): {', '.join(missing)}")
    return "\n".join(lines)


def environment_line(environment: dict) -> str:
    """``Environment: Python 3.11.2, numpy 2.4.6, pytest 9.2.0 (image …, backend local)``; ``?`` for what is unknown."""
    def seen(key: str) -> str:
        return environment.get(key) or "?"

    return (f"Environment: Python {seen('python')}, numpy {seen('numpy')}, pytest {seen('pytest')} "
            f"(image {seen('image')}, backend {seen('backend')})")


def csv_row(label: str, result: dict) -> dict:
    tests = result.get("tests", [])
    return {
        "submission": label, "status": result.get("status"), "score": result.get("score"),
        "max_score": result.get("max_score"), "tests_passed": sum(t["outcome"] == "passed" for t in tests),
        "tests": len(tests), "seed": result.get("seed"),
        "tamper_proof": result.get("integrity", {}).get("tamper_proof"),
        "seconds": result.get("execution_time"),
        "message": "" if result.get("status") == GRADED and result.get("complete") else _first_line(result.get("output", "")),
    }


def format_csv(rows: list[dict]) -> str:
    """The batch's rows under a ``CSV_FIELDS`` header; a zip name or message a spreadsheet would run is escaped."""
    return csv_text([CSV_FIELDS, *([row.get(field) for field in CSV_FIELDS] for row in rows)])
