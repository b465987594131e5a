"""The release gate: nine checks that prove a release before anything ships.

1. every stub parses and the stubbed package imports;
2. the reference scores full marks on the public and hidden tests;
3. the untouched starter scores nothing on the hidden tests (beyond declared free points);
4. nothing of a solution or of the hidden tests is in the starter zip;
5. every function a student writes runs in some hidden test (run against the reference);
6. two runs of the reference with the same seed give identical results;
7. degenerate submissions (``degenerate``: generic ones and the assignment's own) score nothing
   on the public and hidden tests (beyond declared free points);
8. the blast radius (``blast``): the reference with any one unit stubbed loses points only in groups
   that grade that unit or declare it as a dependency;
9. the starter zip works as shipped (``shipped``): unzipped, with the reference's solutions of the owned
   files dropped in, its ``run_tests.py`` passes every public test in a Python that has only numpy.

Before any suite runs, the ``[[points]]`` table must match the tests: a pattern matching nothing, or a
test matched by no pattern or by two, stops the gate there (every later check "not run").
The suite runs are independent, so they run side by side (``GATE_JOBS`` at a time).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from grader.authoring import blast, degenerate, leaks, shipped
from grader.authoring.build import Trees, stub_scopes, write_tree
from grader.authoring.config import Assignment, PointsError, Verdict, assign_points
from grader.authoring.degenerate import Base, Degenerate, DegenerateError
from grader.authoring.determinism import check_determinism
from grader.authoring.markers import MarkerError
from grader.authoring.stubs import RenderError
from grader.authoring.suite import SuiteRun, run_suite
from grader.authoring.verdicts import TITLES, Check, CheckState
from grader.harness.results import write_points

CHECKS = len(TITLES)
# Suite runs side by side: each is one pytest process (plus a student process), mostly waiting on one core.
GATE_JOBS = max(2, os.cpu_count() or 1)

_IMPORT_ALL = """
import importlib, pkgutil, sys
root = sys.argv[1]
sys.path.insert(0, root)
import beras
assert beras.__file__.startswith(root), f"beras was imported from {beras.__file__}, not from the starter"
names = [m.name for m in pkgutil.walk_packages(beras.__path__, "beras.")]
for name in names:
    importlib.import_module(name)
print(len(names) + 1)
"""


@dataclass
class Layout:
    """Where the staged release lives while the gate runs."""

    starter_root: Path  # holds beras/ (as shipped), public_tests/, the student's README
    assignment_dir: Path  # the autograder's copy of the assignment folder (toml and both suites)
    reference_root: Path  # holds the complete reference beras/
    graded_stub_root: Path  # holds beras/ as an untouched starter is graded
    # holds beras/ as the reference solution is submitted: the graded starter with the owned files
    # solved (None: the complete reference, for callers that stage no such tree)
    reference_submission_root: Path | None = None
    starter_zip: Path | None = None  # the zip students download, as staged (None: check 9 cannot run)


@dataclass
class GateReport:
    """All checks of one gate run."""

    assignment: str
    seed: int
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # what stopped the gate before any suite ran, said once
    seconds: float = 0.0
    # test id -> the reference's time for it, as graded here (its untraced runs): the release records
    # them, and grading derives each test's per-call deadline from them (harness/deadlines.py)
    reference_times: dict[str, float] = field(default_factory=dict)
    # when this byte-identical release was gated, if its report was reused (gate_cache); None: gated now
    cached_from: str | None = None

    @property
    def ok(self) -> bool:
        return len(self.checks) == CHECKS and all(check.ok for check in self.checks)

    def format(self) -> str:
        """The report as a person reads it."""
        lines = [f"Release gate for {self.assignment} (seed {self.seed})"]
        lines += [f"  stopped before any suite ran: {problem}" for problem in self.stopped]
        for check in self.checks:
            lines.append(f"  [{check.state:>4}] {check.number}. {check.title}: {check.figure}")
            lines += [f"           | {row}" for row in check.table]
            lines += [f"           - {detail}" for detail in check.details[:20]]
            if len(check.details) > 20:
                lines.append(f"           ... and {len(check.details) - 20} more")
        lines += [f"  note: {note}" for note in self.notes]
        failed = [str(check.number) for check in self.checks if check.state is CheckState.FAIL]
        if self.ok:
            verdict = "passed"
        elif failed:
            verdict = f"refused: check {', '.join(failed)} failed"
        else:
            verdict = "refused: the gate stopped before its checks ran"
        if self.cached_from:
            lines.append(f"  reused: the report of this byte-identical release, gated at {self.cached_from} "
                         "(GRADER_GATE_CACHE; set it to off to run the gate again)")
        lines.append(f"Release {verdict} ({self.seconds:.1f} s).")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "seed": self.seed, "ok": self.ok,
                "seconds": round(self.seconds, 2),
                "checks": [{**asdict(check), "state": str(check.state)} for check in self.checks],
                "notes": self.notes, "stopped": self.stopped, "cached_from": self.cached_from}


def run_gate(assignment: Assignment, trees: Trees, layout: Layout, seed: int,
             test_ids: list[str]) -> GateReport:
    """Run the nine checks on a staged release; never raises for a failing release.

    ``test_ids`` are the ids of every public and hidden test (``suite.collect_ids``).
    """
    started = time.monotonic()
    report = GateReport(assignment.name, seed, notes=gate_notes(assignment, trees))
    first = _check_imports(trees, layout)
    report.checks.append(first)
    why = "check 1 failed" if not first.ok else None
    if why is None:
        try:
            points = assign_points(assignment, test_ids)
        except PointsError as error:
            # Said once, here: every suite run would report the same table, and their scores mean nothing.
            report.stopped.append(_points_problem(error))
            why = "the [[points]] table does not match the tests (see above); fix it and release again"
    if why is not None:
        report.checks += [Check.not_run(number, why) for number in range(2, CHECKS + 1)]
        report.seconds = time.monotonic() - started
        return report
    limit = assignment.limits.wall_time_s
    public, hidden = assignment.tests.public, assignment.tests.hidden
    ids_file = layout.assignment_dir.parent / "test-ids.json"
    ids_file.write_text(json.dumps(test_ids))
    # The points the release ships, in the file the worker's judge reads (one way to feed the plugin);
    # in the stage, beside the degenerate cases, not in the autograder folder that ships.
    points_file = layout.graded_stub_root.parent / "points.json"
    write_points(points, points_file)
    run = dict(seed=seed, timeout_s=limit, points=points_file)
    suites = [public, hidden]
    degenerates, case_problem = _degenerates(assignment, trees, layout)
    staged = _stage_degenerates(degenerates, assignment, trees, layout.graded_stub_root.parent / "degenerate")
    # The reference is graded as a student would submit it, so a hidden test that uses a file the
    # students neither own nor get complete fails here, not in the first real grading run.
    solved = layout.reference_submission_root or layout.reference_root
    reference = layout.reference_root
    # Both reference runs record which functions each test enters: check 8 reruns only the tests a unit
    # can affect.
    jobs = {  # the longest first, so that the side-by-side runs end together; the traced ones before the rest
        "hidden_ref": partial(run_suite, layout.assignment_dir, hidden, solved, reference=reference,
                              trace_dir=solved / "beras", trace_calls=True, fetch_log=True, **run),
        "public_ref": partial(run_suite, layout.assignment_dir, public, solved, reference=None,
                              trace_dir=solved / "beras", trace_lines=False, trace_calls=True, **run),
        "hidden_again": partial(run_suite, layout.assignment_dir, hidden, solved, reference=reference,
                                fetch_log=True, **run),
        # Degenerate code runs in its own process, as in grading: a case may patch whatever it imports.
        **{f"degenerate/{case.name}": partial(run_suite, layout.assignment_dir, suites, staged[case.name],
                                              reference=reference,
                                              call_timeout_s=assignment.limits.call_time_s,
                                              **run) for case in degenerates},
        "hidden_stub": partial(run_suite, layout.assignment_dir, hidden, layout.graded_stub_root,
                               reference=reference, **run),
        "public_starter": partial(run_suite, layout.assignment_dir, public, layout.starter_root,
                                  reference=None, **run),
        # A plain subprocess of numpy-only Python over the unzipped starter: seconds, beside the rest.
        "shipped": partial(_check_shipped, layout.starter_zip, assignment, trees,
                           [t for t in test_ids if t.startswith(public + "/")], seed, limit),
    }
    with ThreadPoolExecutor(GATE_JOBS) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        # The blast-radius runs queue behind the others as soon as the traced reference runs are in.
        steps, blast_problem = _plan_blast(assignment, trees, layout, seed, test_ids,
                                           futures["public_ref"].result(), futures["hidden_ref"].result())
        # Each collects only the files that hold its tests: collection is much of a short run's time.
        blast_futures = {step.unit.name: pool.submit(_timed, partial(
            run_suite, layout.assignment_dir, step.files(), step.submission, reference=reference,
            only_tests=step.tests_file, **run)) for step in steps if isinstance(step, blast.Planned)}
        runs = {name: future.result() for name, future in futures.items()}
        blast_timed = {name: future.result() for name, future in blast_futures.items()}
    blast_runs = {name: run for name, (run, _) in blast_timed.items()}
    blast_seconds = sum(seconds for _, seconds in blast_timed.values())
    public_ref, hidden_ref, hidden_stub = runs["public_ref"], runs["hidden_ref"], runs["hidden_stub"]
    hidden_again, public_starter = runs["hidden_again"], runs["public_starter"]
    report.checks.append(_check_reference(public_ref, hidden_ref, stub_scopes(trees)))
    report.checks.append(_check_stub(hidden_stub, assignment.free_points, public_starter))
    report.checks.append(_check_leaks(trees, layout, assignment))
    report.checks.append(_check_coverage(trees, hidden_ref))
    report.checks.append(check_determinism(hidden_ref, hidden_again, seed))
    report.checks.append(_check_degenerates([(case, runs[f"degenerate/{case.name}"]) for case in degenerates],
                                            assignment.free_points, case_problem))
    report.checks.append(_check_blast(assignment, steps, blast_runs, [public_ref, hidden_ref], blast_problem,
                                      blast_seconds))
    report.checks.append(runs["shipped"])
    # Not the line-traced run: tracing every line makes the reference several times slower than grading
    # sees it. public_ref traces calls only, which errs on the generous side.
    report.reference_times = reference_times(public_ref, hidden_again)
    report.seconds = time.monotonic() - started
    return report


def gate_notes(assignment: Assignment, trees: Trees) -> list[str]:
    """The report's notes on what the release ships, which do not depend on any suite run."""
    notes = list(trees.notes)
    notes += [f"ships {item} complete, as this assignment declares" for item in trees.released]
    notes += [f"{rel} is not in the starter (files.complete)" for rel in trees.withheld]
    if assignment.gpu_variant == "optional":
        notes.append("the gpu variant (CuPy) is declared optional; run the suite with "
                     "--beras-backend cupy on a GPU worker to prove it")
    return notes


def _points_problem(error: PointsError) -> str:
    """The points-table mismatch as one problem: a typo in one pattern shows as a group that matches nothing
    and as the tests it should have matched, one fault."""
    marker = f"{error.path.name}: "  # each problem starts with the file's path, said once here instead
    found = [problem.partition(marker)[2] or problem for problem in error.problems]
    shown = "; ".join(found[:6]) + (f"; and {len(found) - 6} more" if len(found) > 6 else "")
    return (f"the [[points]] table does not match the tests: {shown}. To fix: correct the `tests` patterns "
            "in assignment.toml so that every test is matched by exactly one [[points]] group and every "
            "group by at least one test (SCHEMA.md, [[points]])")


def reference_times(*runs: SuiteRun) -> dict[str, float]:
    """Each passed test's longest call into the submission over ``runs`` of the reference (a test that failed
    anywhere is left out).

    A call's own time, not the test's: the test's also holds the reference's work in the judge and the
    fixtures, several times a call's. The gate runs these side by side with its other runs, so the times are
    those of a loaded machine.
    """
    times: dict[str, float] = {}
    failed: set[str] = set()
    for run in runs:
        for test in run.tests():
            if test.status != "passed":
                failed.add(test.name)
            else:
                times[test.name] = max(times.get(test.name, 0.0), test.longest_call_s)
    return {name: seconds for name, seconds in times.items() if name not in failed}


def _check_shipped(starter_zip: Path | None, *args) -> Check:
    """Check 9 (``shipped.check_starter_zip``); not run when the caller staged no zip."""
    if starter_zip is None:
        return Check.not_run(9, "no starter zip was staged")
    found = shipped.check_starter_zip(starter_zip, *args)
    return Check(9, TITLES[9], not found.details, found.figure, found.details)


def _check_imports(trees: Trees, layout: Layout) -> Check:
    details = list(trees.problems)
    stubs = [rel for rel in trees.starter if rel.endswith(".py")]
    for rel in stubs:
        try:
            ast.parse(trees.starter[rel], f"beras/{rel}")
        except SyntaxError as error:
            details.append(f"beras/{rel}:{error.lineno}: the generated file does not parse: {error.msg}")
    modules = 0
    if not details:
        for label, root in (("starter", layout.starter_root), ("graded stub", layout.graded_stub_root)):
            process = subprocess.run([sys.executable, "-c", _IMPORT_ALL, str(root.resolve())],
                                     capture_output=True, text=True, timeout=120,
                                     env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"})
            if process.returncode != 0:
                last = (process.stderr.strip().splitlines() or ["no output"])[-1]
                details.append(f"the {label} package does not import: {last}")
            elif label == "starter":
                modules = int(process.stdout.split()[-1])
    figure = (f"{len(stubs)} files parse, the starter package imports ({modules} modules)" if not details
              else f"{len(details)} problem(s)")
    return Check(1, "stubs parse and import", not details, figure, details)


def _failures(run: SuiteRun, wanted: str) -> list[str]:
    if run.problem:
        return [run.problem + (f"; log: {run.log_tail[-600:]}" if run.log_tail else "")]
    problems = list(run.results.problems)
    return problems + [f"{t.name}: {t.status}: {t.output[:300]}" for t in run.tests() if t.status != wanted]


def _fraction(run: SuiteRun) -> str:
    return f"{run.score:g}/{run.max_score:g}" if run.results else "no result"


def _check_reference(public: SuiteRun, hidden: SuiteRun, scopes: dict[str, tuple[str, str]]) -> Check:
    """Check 2: the reference, submitted as a student would (into the starter's package), scores full marks.

    Args:
        scopes: the stubbed scopes of other assignments' files (``build.stub_scopes``): a failure that
            reached one is explained, naming the file, its owner and the fix.
    """
    details = ([f"public: {d}" for d in _failures(public, "passed")]
               + [f"hidden: {d}" for d in _failures(hidden, "passed")])
    for suite, run in (("public", public), ("hidden", hidden)):
        for test in run.tests():
            if test.status != "passed":
                details += [f"{suite}: {test.name}: {why}"
                            for why in shipped.stubbed_use(test.output, scopes)]
    if hidden.results and hidden.max_score <= 0:
        details.append("the hidden tests are worth 0 points")
    return Check(2, "reference full marks", not details, f"reference public {_fraction(public)}, "
                 f"hidden {_fraction(hidden)}", details)


def _check_stub(hidden: SuiteRun, free_points: float, public_starter: SuiteRun) -> Check:
    details = [] if hidden.results else [hidden.problem or "no results"]
    earned = [t for t in hidden.tests() if t.score > 0]
    if hidden.results and hidden.score > free_points + 1e-9:
        details += [f"{t.name} passes on the untouched starter ({t.score:g} points)" for t in earned]
    figure = f"stub hidden {_fraction(hidden)} (free points allowed: {free_points:g}); " \
             f"starter public {_fraction(public_starter)}"
    return Check(3, "stub scores nothing", not details, figure, details)


def _check_leaks(trees: Trees, layout: Layout, assignment: Assignment) -> Check:
    """Check 4: no solution line and nothing of the hidden tests in the starter.

    The solutions compared are this assignment's and those of the assignments whose files it ships
    (``files.solutions_released``), not every assignment's; and a solution line that also stands outside
    every marked block somewhere in the reference (boilerplate such as ``x = backend.asarray(x)``) is public
    already, so it is not one.
    """
    compared = set(assignment.files.owned) | {rel for rel, owner in trees.stubbed_others.items()
                                              if owner in set(trees.released_owners.values())}
    solution_lines = {}
    for rel in sorted(compared & set(trees.markups)):
        lines = trees.sources[rel].splitlines()
        solution_lines[f"beras/{rel}"] = [(n, lines[n - 1])
                                          for n in sorted(trees.markups[rel].solution_lines())]
    # Files this assignment ships as released solutions are public by declaration: not scanned.
    released = {f"beras/{rel}" for rel in trees.released_files}
    starter = {p.relative_to(layout.starter_root).as_posix(): p.read_text(errors="replace")
               for p in sorted(layout.starter_root.rglob("*")) if p.is_file()}
    starter = {path: text for path, text in starter.items() if path not in released}
    hidden_dir = layout.assignment_dir / assignment.tests.hidden
    hidden = {p.relative_to(layout.assignment_dir).as_posix(): p.read_text(errors="replace")
              for p in sorted(hidden_dir.rglob("*.py"))}
    found = leaks.solution_leaks(solution_lines, starter, leaks.unmarked_lines(trees.sources, trees.markups))
    found += leaks.hidden_test_leaks(hidden, starter)
    return Check(4, "no leaks", not found, f"leaks {len(found)}", [str(leak) for leak in found])


def _check_coverage(trees: Trees, hidden: SuiteRun) -> Check:
    if not hidden.results or hidden.results.lines_run is None:
        return Check(5, "coverage of stubbed code", False, "no trace from the reference run")
    ran = hidden.results.lines_run
    units = uncovered = 0
    details = []
    for rel, stubbed in sorted(trees.stubbed.items()):
        origin = trees.reference[rel].origin
        executed = {origin[n - 1] for n in ran.get(rel, []) if 0 < n <= len(origin) and origin[n - 1]}
        for unit in stubbed:
            units += 1
            if not executed & set(unit.lines):
                uncovered += 1
                details.append(f"beras/{rel}: {unit.qualname} (lines {unit.lines[0]}-{unit.lines[-1]}) "
                               "never runs in a hidden test; its student work would go ungraded")
    return Check(5, "coverage of stubbed code", not details, f"{units} stubbed units, uncovered {uncovered}",
                 details)


def _degenerates(assignment: Assignment, trees: Trees, layout: Layout) -> tuple[list[Degenerate], str | None]:
    """The generic degenerate submissions and the assignment's own; a malformed case is a problem, not a
    raise."""
    owned = list(assignment.files.owned)
    try:  # the stubs rendered (check 1), so only a rendering bug can stop the generic ones
        found = degenerate.generic(trees.sources, owned)
    except (MarkerError, RenderError) as error:
        return [], f"the generic degenerate submissions could not be rendered: {error}"
    try:
        found += degenerate.load_cases(layout.assignment_dir, owned,
                                       [group.group for group in assignment.points])
    except DegenerateError as error:
        return found, str(error)
    return found, None


def _stage_degenerates(degenerates: list[Degenerate], assignment: Assignment, trees: Trees,
                       root: Path) -> dict[str, Path]:
    """Write each degenerate submission's package under ``root/<name>/beras``; return the folders."""
    solutions = {rel: trees.reference[rel] for rel in assignment.files.owned if rel in trees.reference}
    staged = {}
    for case in degenerates:
        files: dict = dict(trees.graded_stub)
        if case.base is Base.REFERENCE:
            files.update(solutions)
        files.update(case.files)
        write_tree(files, root / case.name / "beras")
        staged[case.name] = root / case.name
    return staged


def _check_degenerates(graded: list[tuple[Degenerate, SuiteRun]], free_points: float,
                       case_problem: str | None) -> Check:
    details = [case_problem] if case_problem else []
    scores = []
    for case, run in graded:
        if not run.results or run.problem:
            details.append(f"{case.name}: {run.problem or 'no results'}")
            scores.append(f"{case.name} ?")
            continue
        tests = run.tests()
        if case.groups:
            earned = [t for t in tests if t.group in case.groups and t.score > 0]
            scores.append(f"{case.name} {sum(t.score for t in earned):g} in its groups")
            bound = f"{len(case.groups)} group(s) it must earn nothing in: {', '.join(case.groups)}"
            failed = bool(earned)
        else:
            earned = [t for t in tests if t.score > 0]
            scores.append(f"{case.name} {run.score:g}")
            bound = f"free points allowed: {free_points:g}"
            failed = run.score > free_points + 1e-9
        if failed:
            shown = ", ".join(f"{t.name} ({t.score:g})" for t in earned[:8])
            more = f" and {len(earned) - 8} more" if len(earned) > 8 else ""
            details.append(f"{case.name} ({case.description}) earns "
                           f"{sum(t.score for t in earned):g} points ({bound}) from {shown}{more}")
    max_score = next((run.max_score for _, run in graded if run.results), 0.0)
    figure = f"{len(graded)} submissions, public + hidden of {max_score:g}: {', '.join(scores)} " \
             f"(free points allowed: {free_points:g})"
    return Check(7, "degenerate submissions score nothing", not details, figure, details)


def _timed(job) -> tuple[SuiteRun, float]:
    """Run ``job``; its result and the seconds it took."""
    started = time.monotonic()
    return job(), time.monotonic() - started


def _plan_blast(assignment: Assignment, trees: Trees, layout: Layout, seed: int, test_ids: list[str],
                *traced: SuiteRun) -> tuple[list, str | None]:
    """Check 8's steps (``blast.plan``), or why there are none: a reference run without its per-test trace."""
    if not all(run.results and run.results.calls_by_test is not None for run in traced):
        return [], "not run: a reference run gave no per-test trace (see check 2)"
    calls = {test: names for run in traced for test, names in run.results.calls_by_test.items()}
    solved = layout.reference_submission_root or layout.reference_root
    stage = layout.graded_stub_root.parent / "blast"
    base = blast.base_key(layout.assignment_dir, layout.reference_root, solved, seed, test_ids)
    try:
        return blast.plan(assignment, trees, solved, stage, calls, test_ids, base), None
    except (MarkerError, RenderError) as error:
        return [], f"not run: a unit could not be rendered stubbed alone: {error}"


def _check_blast(assignment: Assignment, steps: list, runs: dict[str, SuiteRun],
                 reference_runs: list[SuiteRun], problem: str | None, seconds: float) -> Check:
    if problem:
        return Check(8, "blast radius", False, problem)
    passed = {t.name for run in reference_runs for t in run.tests() if t.status == "passed"}
    outcomes = []
    for step in steps:
        if isinstance(step, blast.Planned):
            found = blast.outcome(step.unit, runs[step.unit.name], passed, assignment, len(step.tests))
            blast.store(step.key, found)
            outcomes.append(found)
        else:
            outcomes.append(step)
    table, refusals = blast.describe(outcomes, assignment)
    spread = [found for found in outcomes if found.refused or found.problem]
    advisory = assignment.gate.blast_radius is Verdict.ADVISORY
    cached = sum(found.cached for found in outcomes)
    figure = (f"{len(outcomes)} units, {len(outcomes) - len(spread)} confined, {len(spread)} cost points "
              f"outside their groups; {len(runs)} runs of "
              f"{sum(s.tests_run for s in outcomes if not s.cached)} tests, {cached} cached; the runs took "
              f"{seconds:.1f} s together, side by side with the others")
    if advisory and spread:
        figure += (" — ADVISORY ONLY: assignment.toml [gate] blast_radius = \"advisory\" "
                   "lets this release pass")
    return Check(8, "blast radius", advisory or not spread, figure, refusals, table,
                 [found.row() for found in outcomes])
