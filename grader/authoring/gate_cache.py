"""Passing gate reports kept under a digest of the staged release, so a byte-identical release is gated once.

Opt-in (``$GRADER_GATE_CACHE``, a folder): a course's CI that re-releases every assignment on each
push, or a demo seeded again, reuses the report of a release whose every input is unchanged. The
digest covers what decides the report: the staged starter (tree and zip bytes), the autograder's
assignment folder, the reference, the graded stub, the seed, the test ids, every module of the
grader (the gate, the harness, the judge) and the Python, numpy and pytest versions. Refused
reports are never kept: an author fixing a release always gets a fresh gate run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import grader
from grader.authoring.blast import keep, tree_digest
from grader.authoring.gate import GateReport, Layout
from grader.authoring.verdicts import Check

CACHE_ENV = "GRADER_GATE_CACHE"  # a folder; unset, empty or "off": every release runs the gate
FORMAT = "gate-1"


def cache_dir() -> Path | None:
    """The configured folder, or None when the cache is off (the default)."""
    configured = os.environ.get(CACHE_ENV, "")
    return None if configured in ("", "off") else Path(configured)


def release_key(layout: Layout, seed: int, test_ids: list[str]) -> str:
    """The digest of everything that decides the gate's report on the staged release ``layout``."""
    import numpy
    import pytest

    roots = [layout.starter_root, layout.assignment_dir, layout.reference_root, layout.graded_stub_root]
    if layout.reference_submission_root is not None:
        roots.append(layout.reference_submission_root)
    digest = hashlib.sha256(FORMAT.encode() + b"\0")
    parts = [tree_digest(root) for root in roots]
    parts.append(hashlib.sha256(layout.starter_zip.read_bytes()).hexdigest() if layout.starter_zip else "-")
    parts += [tree_digest(Path(grader.__file__).resolve().parent), str(seed), json.dumps(test_ids),
              sys.version, platform.machine(), numpy.__version__, pytest.__version__]
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def gated(layout: Layout, seed: int, test_ids: list[str], assignment: str,
          run: Callable[[], GateReport]) -> GateReport:
    """``run()``'s report, or the kept one for this exact release (``cached_from`` set, notes empty).

    With the cache off (the default) nothing is hashed: the digest reads every staged file.
    """
    if cache_dir() is None:
        return run()
    key = release_key(layout, seed, test_ids)
    report = load(key, assignment, seed)
    if report is None:
        report = run()
        store(key, report)
    return report


def load(key: str, assignment: str, seed: int) -> GateReport | None:
    """The kept report for ``key`` (its notes left empty for the caller), or None: absent, unreadable, off."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        stored = json.loads((folder / f"{key}.json").read_text())
        checks = [Check(**{name: value for name, value in check.items() if name != "state"})
                  for check in stored["checks"]]
        report = GateReport(assignment, seed, checks=checks, seconds=float(stored["seconds"]),
                            reference_times={test: float(t) for test, t in stored["reference_times"].items()})
        gated_at = str(stored["gated_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged entry only costs a gate run
    if not report.ok:
        return None
    report.cached_from = gated_at
    return report


def store(key: str, report: GateReport) -> None:
    """Keep a passing report for the next release with the same inputs (refused ones are never kept)."""
    folder = cache_dir()
    if folder is None or not report.ok:
        return
    entry = {"format": FORMAT, "gated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "seconds": report.seconds, "reference_times": report.reference_times,
             "checks": [asdict(check) for check in report.checks]}
    keep(folder, key, entry)
