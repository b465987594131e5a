"""Measure each stubbed unit's blast radius: grade the reference with one unit stubbed, list the groups that
lose.

A stop-gap for suite authors until the release gate measures it (issue 15): for every function
whose body the students write (``stubbed_code``), the reference is graded with that function's
solution blocks alone replaced by the starter's ``raise NotImplementedError``, and the point
groups that lose points are printed with the points lost.

    .venv/bin/python tools/blast_radius.py beras-mlp [--jobs 2] [--only 'activations.py::*']
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.authoring import markers
from grader.authoring.markers import Kind
from grader.authoring.release import stage_autograder
from grader.authoring.released import load_released
from grader.authoring.stubs import _replacement, render_with, stubbed_code
from worker.grading.grade import grade_zip
from worker.grading.samples import _zip, reference_files
from worker.sandbox import choose_sandbox

REPO = Path(__file__).resolve().parents[1]


def render_one_stubbed(source: str, path: str, qualname: str) -> str:
    """``source`` rendered complete except the solution blocks inside ``qualname``, which become the
    stub's."""

    def block(b):
        stub = b.kind is Kind.SOLUTION and b.in_function and b.scope == qualname
        return _replacement(b, stub) if stub or b.kind is Kind.HIDDEN else None

    def one(o):
        return o.head + "...  # TODO" if o.scope == qualname else o.code

    return render_with(source, path, block, one, f"reference with {qualname} stubbed").text


def units(released) -> list[tuple[str, str]]:
    """(owned file, qualname) of every function with code the students write."""
    found = []
    for rel in released.assignment.files.owned:
        source = (REPO / "reference" / "beras" / rel).read_text()
        markers.parse(source, rel)
        for code in stubbed_code(source, rel):
            if (rel, code.qualname) not in found:
                found.append((rel, code.qualname))
    return found


def lost_points(result: dict) -> dict[str, float]:
    """Group → points lost in a graded result."""
    lost: dict[str, float] = defaultdict(float)
    for test in result.get("tests", []):
        if test["score"] < test["max_score"]:
            lost[test["tags"][0]] += test["max_score"] - test["score"]
    return dict(lost)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="*", help="fnmatch pattern over 'file::qualname'")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="blast-"))
    released = load_released(stage_autograder(REPO / "assignments" / args.assignment, out,
                                              reference_package=REPO / "reference" / "beras"))
    sandbox = choose_sandbox("local")
    base = reference_files(released)
    todo = [(rel, q) for rel, q in units(released) if fnmatch.fnmatchcase(f"{rel}::{q}", args.only)]

    def grade(unit):
        rel, qualname = unit
        source = (REPO / "reference" / "beras" / rel).read_text()
        files = {**base, rel: render_one_stubbed(source, rel, qualname)}
        return unit, lost_points(grade_zip(released, _zip(files), sandbox, seed=args.seed))

    with ThreadPoolExecutor(args.jobs) as pool:
        for (rel, qualname), lost in pool.map(grade, todo):
            cells = "; ".join(f"{g} -{p:.2f}" for g, p in sorted(lost.items())) or "(nothing lost)"
            print(f"{rel}::{qualname} | {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
