"""pytest plugin: scores each test with the assignment's points and writes the results file.

Load it with ``-p grader.harness.results --points FILE --results FILE`` (``write_points`` writes the
points file, for the worker's job folder and for the release gate alike). The file is
Gradescope-shaped JSON (``score``, ``max_score``, ``tests`` with ``name``, ``score``,
``max_score``, ``status``, ``output``, ``visibility``), plus ``seed``, per-test
``fetch_digest`` (a digest of every value the test fetched, for the determinism check)
and, with ``--trace-dir DIR``, the lines of each file under DIR that ran (for the
coverage check); with ``--trace-calls`` too, the functions under DIR each test entered (for
the blast-radius check, which reruns only the tests a unit can affect; ``--only-tests FILE``
runs those). The output of a failed test is the failure's message only: never the
hidden test's source or its local values. The file is rewritten after every test, so a run
killed at its wall-time limit still reports each finished test; the others say ``not_run``
and ``complete`` is false.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.harness import handles, notes
from grader.harness.jobspec import RESULTS_MAX_BYTES
from grader.harness.plugin import DEADLINES, SEED
from grader.harness.textcap import fit

MAX_OUTPUT_CHARS = 8000
MAX_OUTPUT_BYTES = 16 * 2**10  # one test's output, JSON-encoded
MIN_OUTPUT_BYTES = 256  # what each test keeps however many tests share the file
# Room for everything but the outputs: a test's name (capped at 1000 characters by the worker), its
# digest and keys, and the file's own fields.
PER_TEST_BYTES = 1600
FILE_BYTES = 64 * 2**10
FETCH_LOG_MAX = 200  # fetches listed per test under --fetch-log: enough to point at the first difference
NOT_RUN = "not_run"  # the run stopped (wall-time limit, crash) before this test finished


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("beras-results", "Beras Grader results")
    group.addoption("--points", default=None,
                    help="JSON file of each test id's points, group and visibility (see write_points; the "
                         "judge reads no assignment.toml)")
    group.addoption("--results", default=None, help="write the results JSON here")
    group.addoption("--trace-dir", default=None, help="record which lines of the files under this folder ran")
    group.addoption("--trace-calls", action="store_true",
                    help="with --trace-dir: record, per test, which functions of the folder it entered")
    group.addoption("--trace-calls-only", action="store_true",
                    help="with --trace-calls: do not record lines (cheaper)")
    group.addoption("--fetch-log", action="store_true",
                    help="list, per test, what each fetch fetched and its digest (for the gate's "
                         "determinism check)")
    group.addoption("--only-tests", default=None,
                    help="JSON file listing the test ids to run; the others are deselected")


@pytest.hookimpl(tryfirst=True)  # before the recorder lists the collected tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only = config.getoption("--only-tests")
    if not only:
        return
    wanted = set(json.loads(Path(only).read_text()))
    dropped = [item for item in items if item.nodeid not in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid in wanted]


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--results"):
        config.pluginmanager.register(ResultsRecorder(config), "beras-results-recorder")


@dataclass(frozen=True)
class Weight:
    """One test's points, the group that gives them, and when students see its result."""

    points: float
    group: str
    visibility: str


def write_points(points: Mapping[str, Any], path: Path) -> None:
    """Write the ``--points`` file: each test id's points, group and visibility.

    Args:
        points: test id -> an object with ``points``, ``group`` and ``visibility`` (the release's
            points table, computed over every test id of the assignment, so that a run of some tests
            splits a group's points as a run of all of them does).
        path: where to write it.
    """
    table = {test_id: {"points": p.points, "group": p.group, "visibility": str(p.visibility)}
             for test_id, p in points.items()}
    path.write_text(json.dumps(table))


class LineTracer:
    """Records what ran of the files under one folder (cheap: other frames are not traced).

    ``lines``: each file's executed lines, for the whole run (with ``lines=True``).
    ``calls``: per test, the functions under the folder it entered, as ``<file>::<qualname>``
    (``<locals>`` dropped, so ``Dense.forward.helper``); a function entered while a fixture of a wider
    scope is set up counts for every test that uses that fixture (``fixture_started``/``fixture_done``).
    """

    def __init__(self, folder: Path, *, lines: bool = True, calls: bool = False) -> None:
        self.prefix = str(folder.resolve()) + "/"
        self.record_lines, self.record_calls = lines, calls
        self.lines: dict[str, set[int]] = {}
        self.calls: dict[str, set[str]] = {}  # test id -> functions entered
        # id(fixturedef) -> functions entered while setting it up
        self.fixture_calls: dict[int, set[str]] = {}
        self._sinks: list[set[str]] = []  # the current test's set, then those of fixtures being set up

    def _global(self, frame, event, arg):
        code = frame.f_code
        if not code.co_filename.startswith(self.prefix):
            return None
        rel = code.co_filename[len(self.prefix):]
        if self.record_calls and self._sinks:
            name = f"{rel}::{code.co_qualname.replace('.<locals>', '')}"
            for sink in self._sinks:
                sink.add(name)
        if not self.record_lines:
            return None
        self.lines.setdefault(rel, set()).add(frame.f_lineno)
        return self._local

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines[frame.f_code.co_filename[len(self.prefix):]].add(frame.f_lineno)
        return self._local

    def start(self, test_id: str | None = None) -> None:
        self._sinks = [self.calls.setdefault(test_id, set())] if test_id is not None else []
        sys.settrace(self._global)

    def stop(self) -> None:
        sys.settrace(None)
        self._sinks = []

    def fixture_started(self, fixturedef) -> None:
        self._sinks.append(self.fixture_calls.setdefault(id(fixturedef), set()))

    def fixture_done(self, fixturedef) -> None:
        if self._sinks and self._sinks[-1] is self.fixture_calls.get(id(fixturedef)):
            self._sinks.pop()

    def credit_fixtures(self, item: pytest.Item) -> None:
        """Add to ``item``'s calls those made while setting up the wider-scoped fixtures it uses."""
        mine = self.calls.setdefault(item.nodeid, set())
        info = getattr(item, "_fixtureinfo", None)  # pytest's own table; without it, credit every fixture
        if info is None:
            for entered in self.fixture_calls.values():
                mine |= entered
            return
        for name in item.fixturenames:
            for fixturedef in info.name2fixturedefs.get(name, ()):
                mine |= self.fixture_calls.get(id(fixturedef), set())


class ResultsRecorder:
    """Collects one record per test as it finishes and writes the file at the end of the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.path = Path(config.getoption("--results"))
        self.points_file = config.getoption("--points")
        trace_dir = config.getoption("--trace-dir")
        calls = bool(config.getoption("--trace-calls"))
        if calls and not trace_dir:
            raise pytest.UsageError("--trace-calls needs --trace-dir "
                                    "(the folder whose functions are recorded)")
        self.tracer = LineTracer(Path(trace_dir), lines=not config.getoption("--trace-calls-only"),
                                 calls=calls) if trace_dir else None
        self.records: dict[str, dict[str, Any]] = {}
        self.collected: list[str] = []
        self.digests: list[str] = []
        self.fetch_log: list[str] | None = [] if config.getoption("--fetch-log") else None
        self.started = time.monotonic()
        self.finished = False
        self.points: dict[str, Weight] = {}
        handles.fetch_listeners.append(self._on_fetch)

    def _on_fetch(self, description: str, payload) -> None:
        self.digests.append(handles.payload_digest(payload))
        if self.fetch_log is not None and len(self.fetch_log) < FETCH_LOG_MAX:
            self.fetch_log.append(f"#{len(self.digests)} {description[:100]}: {self.digests[-1][:12]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.collected = [item.nodeid for item in items]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._read_points()
        self._write()  # from here on a killed run still leaves every test's state on disk

    def _read_points(self) -> None:
        """Read each test's points, once: the ids do not change during the run (no file: all are worth 0)."""
        if self.points_file:
            table = json.loads(Path(self.points_file).read_text())
            self.points = {test_id: Weight(**entry) for test_id, entry in table.items()}

    def _write(self, final: bool = False) -> None:
        """Replace the results file atomically, so a reader never sees half of one.

        Compact after each test (json's C encoder: indenting takes the pure-Python one, ~2 ms a
        write at 220 tests), indented for people at the end of the run.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self._results(final), indent=1 if final else None, sort_keys=True))
        partial.replace(self.path)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        self.digests.clear()
        if self.fetch_log is not None:
            self.fetch_log.clear()
        notes.take()
        if self.tracer:
            self.tracer.start(item.nodeid)
        try:
            yield
        finally:
            if self.tracer:
                self.tracer.stop()
                if self.tracer.record_calls:
                    self.tracer.credit_fixtures(item)
        record = self.records.setdefault(item.nodeid, {"status": "passed", "output": ""})
        record["notes"] = notes.take()
        record["longest_call_s"] = round(self.config.stash[DEADLINES].longest_call, 6)
        # Fitted once, when the test is over: the file is rewritten after every test.
        record["text"] = self._text(record)
        record["fetch_digest"] = hashlib.sha256("".join(self.digests).encode()).hexdigest()
        if self.fetch_log is not None:
            record["fetches"] = list(self.fetch_log)
        self._write()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        yield
        skipped = (pytest.skip.Exception, pytest.xfail.Exception)
        if call.excinfo is not None and not call.excinfo.errisinstance(skipped):
            record = self.records.setdefault(item.nodeid,
                                             {"status": "passed", "output": "", "duration_s": 0.0})
            record.setdefault("outcome", _outcome(call.excinfo.value))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        wider = self.tracer is not None and self.tracer.record_calls and fixturedef.scope != "function"
        if wider:
            self.tracer.fixture_started(fixturedef)
        try:
            yield
        finally:
            if wider:
                self.tracer.fixture_done(fixturedef)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.setdefault(report.nodeid, {"status": "passed", "output": "", "duration_s": 0.0})
        record["duration_s"] = round(record.get("duration_s", 0.0) + report.duration, 4)
        if report.failed and record["status"] == "passed":
            record["status"] = "failed"
            record["output"] = _failure_message(report)
        elif report.skipped and record["status"] == "passed":
            record["status"] = "skipped"
            record["output"] = f"skipped: {report.longrepr[2] if isinstance(report.longrepr, tuple) else ''}"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        handles.fetch_listeners.remove(self._on_fetch)
        self.finished = True
        self._write(final=True)

    def _text(self, record: dict[str, Any]) -> str:
        """The test's message and notes, cut to its share of the file."""
        share = output_budget(len(self.collected or self.records))
        return fit(_join(record.get("output", ""), record.get("notes", [])), MAX_OUTPUT_CHARS, share)

    def _results(self, final: bool = False) -> dict[str, Any]:
        ids = self.collected or list(self.records)
        points = self.points
        tests = []
        for test_id in ids:
            record = self.records.get(test_id, {"status": NOT_RUN, "output": "did not run: the grading run "
                                                "stopped before this test finished"})
            weight = points.get(test_id)
            max_score = weight.points if weight else 0.0
            tests.append({
                "name": test_id,
                "group": weight.group if weight else None,
                "visibility": str(weight.visibility) if weight else "hidden",
                "status": record["status"],
                "score": max_score if record["status"] == "passed" else 0.0,
                "max_score": max_score,
                "outcome": record.get("outcome") or record["status"],
                "output": record["text"] if "text" in record else self._text(record),
                "duration_s": record.get("duration_s", 0.0),
                "longest_call_s": record.get("longest_call_s", 0.0),  # into the student's code
                "fetch_digest": record.get("fetch_digest", ""),
                **({"fetches": record.get("fetches", [])} if self.fetch_log is not None else {}),
            })
        results = {
            "complete": self.finished,
            "score": round(sum(t["score"] for t in tests), 6),
            "max_score": round(sum(t["max_score"] for t in tests), 6),
            "seed": self.config.stash[SEED],
            "tests": tests,
            "problems": [],
            "execution_time_s": round(time.monotonic() - self.started, 3),
        }
        if self.tracer and self.tracer.record_lines:
            results["lines_run"] = {path: sorted(lines) for path, lines in sorted(self.tracer.lines.items())}
        if self.tracer and self.tracer.record_calls and final:  # once, at the end: it grows with every test
            results["calls_by_test"] = {test: sorted(names)
                                        for test, names in sorted(self.tracer.calls.items())}
        return results


def output_budget(tests: int) -> int:
    """Bytes each test's output may take, so that the whole file stays under the worker's cap.

    Whatever a student prints or raises (a message of emoji is twelve bytes a character once encoded),
    the file stays readable: a run the student sabotaged this way is graded, not "could not be graded".
    """
    share = (RESULTS_MAX_BYTES - FILE_BYTES) // max(tests, 1) - PER_TEST_BYTES
    return max(MIN_OUTPUT_BYTES, min(MAX_OUTPUT_BYTES, share))


def _outcome(error: BaseException) -> str:
    """Why a test did not pass, as one word the grade reports use."""
    if isinstance(error, handles.StudentProcessFailed):
        kind = handles.FailureKind
        return {kind.TIMEOUT: "timeout", kind.OUT_OF_MEMORY: "out_of_memory"}.get(error.kind, "crashed")
    if isinstance(error, handles.StudentError):
        return "out_of_memory" if error.type_name == "MemoryError" else "failed"
    if isinstance(error, (handles.HarnessError, OSError)):
        return "infrastructure_error"
    return "failed"


def _failure_message(report: pytest.TestReport) -> str:
    """The failure's message only: the exception type and text, never the test's source."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(longrepr, tuple):
        text = str(longrepr[2])
    else:
        text = str(longrepr).strip().splitlines()[-1] if str(longrepr).strip() else "failed"
    for prefix in ("grader.harness.handles.", "builtins."):
        text = text.removeprefix(prefix)  # "StudentError: ..." reads better than the module path
    if report.when != "call":
        text = f"error while {'setting up' if report.when == 'setup' else 'tearing down'} the test: {text}"
    return text[:MAX_OUTPUT_CHARS]


def _join(output: str, test_notes: list[str]) -> str:
    return "\n".join(part for part in [output, *test_notes] if part)
