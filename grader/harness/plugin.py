"""pytest plugin: the ``student``, ``reference``, ``seed`` and ``rng`` fixtures and their options.

Two more for timing tests: ``reference_process`` (the reference in a process of its own,
reached through handles as the student is) and ``pause_student`` (``with pause_student():``
stops every student process for the block).

Load it with ``-p grader.harness.plugin`` (the judge) or ``pytest_plugins`` in a conftest
(the student's starter). Options:

``--submission DIR``   the folder holding the student's ``beras/`` (default: the rootdir)
``--reference DIR``    the folder holding the reference ``beras/``; hidden tests only
``--seed N``           the run's seed (default: a fresh random one, printed in the header)
``--deadlines FILE``   what each test's per-call deadline is derived from (``grader.harness.deadlines``)
``--beras-backend B``  ``numpy`` (default) or ``cupy``: both libraries switch before the first test
"""

from __future__ import annotations

import importlib
import secrets
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from grader.harness.deadlines import CallDeadlines, DeadlineRule
from grader.harness.handles import Handle, Session, Transport
from grader.harness.inprocess import connect
from grader.harness.seeds import test_seed

SEED = pytest.StashKey[int]()
REFERENCE = pytest.StashKey[types.ModuleType]()
LAUNCHED = pytest.StashKey[Transport]()  # the sandbox's transport, its first student process already starting
DEADLINES = pytest.StashKey[CallDeadlines]()  # the student's per-call deadlines, told which test is running
_NO_REFERENCE = (
    "the `reference` fixture exists only where the grader runs hidden tests (--reference DIR); "
    "public tests ship to students, so they must compute their expected values themselves"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("beras", "Beras Grader harness")
    group.addoption("--submission", default=None,
                    help="folder holding the student's beras/ (default: rootdir)")
    group.addoption("--reference", default=None, help="folder holding the reference beras/ (hidden tests)")
    group.addoption("--seed", type=int, default=None,
                    help="seed of this run's random inputs (default: random)")
    group.addoption("--beras-backend", choices=("numpy", "cupy"), default="numpy",
                    help="array backend both libraries use")
    group.addoption("--student-process", action="store_true",
                    help="run the student's code in its own process, with a deadline on every call")
    # Only a hand run (no job spec) uses this default: it is the table's call_time_s, pinned by a test.
    group.addoption("--call-timeout", type=float, default=30.0,
                    help="per-call limit in seconds (--student-process)")
    group.addoption("--deadlines", default=None,
                    help="JSON file of the reference's time for each test and the assignment's deadline "
                         "settings (see grader.harness.deadlines; default: every call gets --call-timeout)")
    group.addoption("--student-memory-mb", type=int, default=None,
                    help="address-space limit of the student process")
    group.addoption("--student-log", default=None, help="file for the student process's output")
    group.addoption("--spawner-fd", type=int, default=None,
                    help="the sandbox launcher's socket: student processes come from it "
                         "(implies --student-process)")


def pytest_configure(config: pytest.Config) -> None:
    seed = config.getoption("--seed")
    config.stash[SEED] = seed if seed is not None else secrets.randbits(31)
    rule_file = config.getoption("--deadlines")
    rule = DeadlineRule.read(Path(rule_file)) if rule_file else None
    config.stash[DEADLINES] = CallDeadlines(config.getoption("--call-timeout"), rule)
    reference_dir = config.getoption("--reference")
    spawner_fd = config.getoption("--spawner-fd")
    if spawner_fd is not None:
        from grader.harness.process import LauncherSpawner, ProcessTransport  # Unix only

        transport = ProcessTransport(LauncherSpawner(spawner_fd), config.getoption("--call-timeout"))
        transport.start_ahead()  # its interpreter starts while this one imports the reference and collects
        config.stash[LAUNCHED] = transport
    if reference_dir:
        config.stash[REFERENCE] = _import_reference(Path(reference_dir))


def pytest_unconfigure(config: pytest.Config) -> None:
    if LAUNCHED in config.stash:
        config.stash[LAUNCHED].close()  # a run that never asked for the student


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.config.stash[DEADLINES].begin_test(item.nodeid)  # before the fixtures: their calls are the test's


def _import_reference(folder: Path) -> types.ModuleType:
    """Import the reference ``beras`` from ``folder`` and make sure it is that one."""
    folder = folder.resolve()
    if not (folder / "beras" / "__init__.py").is_file():
        raise pytest.UsageError(f"--reference {folder}: no beras/__init__.py there")
    if "beras" in sys.modules:
        raise pytest.UsageError("--reference: beras was already imported before the harness could choose it")
    sys.path.insert(0, str(folder))
    module = importlib.import_module("beras")
    if not Path(module.__file__).resolve().is_relative_to(folder):
        raise pytest.UsageError(f"--reference {folder}: beras was imported from {module.__file__} instead")
    return module


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = config.stash[SEED]
    return [f"beras harness: submission {_submission_dir(config)}, seed {seed} (replay with --seed {seed})"]


def _submission_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--submission") or config.rootpath).resolve()


@pytest.fixture(scope="session")
def student_session(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The session with the student side, shared by every test of the run."""
    deadlines = pytestconfig.stash[DEADLINES]
    if LAUNCHED in pytestconfig.stash:
        session = Session(pytestconfig.stash[LAUNCHED], deadlines)
    elif pytestconfig.getoption("--student-process"):
        from grader.harness.process import DirectSpawner, ProcessLimits, ProcessTransport  # Unix only

        log = pytestconfig.getoption("--student-log") or tmp_path_factory.mktemp("student") / "output.log"
        limits = ProcessLimits(memory_mb=pytestconfig.getoption("--student-memory-mb"))
        spawner = DirectSpawner(_submission_dir(pytestconfig), Path(log), limits)
        session = Session(ProcessTransport(spawner, pytestconfig.getoption("--call-timeout")), deadlines)
    else:
        session = connect(_submission_dir(pytestconfig))
        # Nothing times out in process, but each call's time is noted (the gate's).
        session.deadlines = deadlines
    backend = pytestconfig.getoption("--beras-backend")
    if backend != "numpy":
        session.root().beras.set_backend(backend)
    yield session
    session.transport.close()


@pytest.fixture
def student(student_session: Session) -> Handle:
    """The student's code: ``student.beras`` is a handle to their ``beras`` package."""
    return student_session.root()


@pytest.fixture
def reference(pytestconfig: pytest.Config) -> types.SimpleNamespace:
    """The reference library, in this process: ``reference.beras``. Hidden tests only."""
    if REFERENCE not in pytestconfig.stash:
        pytest.fail(_NO_REFERENCE, pytrace=False)
    module = pytestconfig.stash[REFERENCE]
    backend = pytestconfig.getoption("--beras-backend")
    if backend != "numpy" and module.get_backend() != backend:
        module.set_backend(backend)
    return types.SimpleNamespace(beras=module)


@pytest.fixture(scope="session")
def reference_session(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The reference library served from a process of its own, through the same boundary as the student's.

    The judge starts it from its own copy of the reference: no student code is in it, and nothing
    the student runs can reach it. Hidden tests only.
    """
    if REFERENCE not in pytestconfig.stash:
        pytest.fail(_NO_REFERENCE, pytrace=False)
    from grader.harness.process import DirectSpawner, ProcessTransport  # Unix only

    folder = Path(pytestconfig.getoption("--reference")).resolve()
    log = tmp_path_factory.mktemp("reference-process") / "output.log"
    # The folder holding grader/harness: the process imports the harness from where the judge does.
    spawner = DirectSpawner(folder, log, harness_root=Path(__file__).resolve().parents[2])
    session = Session(ProcessTransport(spawner, pytestconfig.getoption("--call-timeout")))
    backend = pytestconfig.getoption("--beras-backend")
    if backend != "numpy":
        session.root().beras.set_backend(backend)
    yield session
    session.transport.close()


@pytest.fixture
def reference_process(reference_session: Session) -> Handle:
    """The reference in its own process, behind handles exactly like ``student``: ``reference_process.beras``.

    For comparing timings: a call to either crosses the same boundary, so the round trips cost
    both sides the same and no overhead needs to be measured or subtracted.
    """
    return reference_session.root("reference_process")


@pytest.fixture
def pause_student(student_session: Session):
    """``with pause_student():`` stops every student process (and all it started) for the block.

    So that the student cannot take the CPU from something timed meanwhile (the reference in
    the speed test). In process (the gate's reference runs, a student's own machine) it does nothing.
    """
    return student_session.transport.paused


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: the run's seed mixed with the test's id, so tests do not depend on order."""
    return test_seed(request.config.stash[SEED], request.node.nodeid)


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    """A numpy generator seeded with this test's ``seed``."""
    return np.random.default_rng(seed)
