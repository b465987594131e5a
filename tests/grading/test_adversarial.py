"""An adversarial corpus: submissions that attack the grader, each graded on both sandbox backends.

Every case is the reference solution of beras-mlp with one attack added (at import, or inside one
method), graded over one small hidden suite. The assertions are about what would break if
containment broke: the attacked tests fail with the expected outcome and a clear message, every
other test scores exactly what the plain reference scores on the same suite (graded once per
backend, below), the result is ``graded`` and ``complete``, no sandbox process outlives the run,
and where the attack could have damaged the grader, the next honest submission still gets full
marks.

Section 15 attacks the sandbox as a whole rather than one process: memory taken by many
processes together, a user namespace with a private tmpfs, the kernel keyrings and file locks
as channels between jobs, and 64 busy processes against the CPU quota.

The suites: ``test_metrics_onehot.py`` (6 tests of ``CategoricalAccuracy``, 10 of
``OneHotEncoder``, 5 of those 10 calling ``OneHotEncoder.inverse``) for most cases, and
``test_activations.py`` (``ReLU`` in 14 of its 85 tests) where the brief names ``ReLU.forward``.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.authoring.released import Released
from grader.harness.jobspec import JobSpec
from tests.grading.conftest import REFERENCE, grade_json, require, submission
from worker.grading.grade import sandbox_limits
from worker.sandbox import Sandbox

METRICS = "hidden_tests/test_metrics_onehot.py"
ACTIVATIONS = "hidden_tests/test_activations.py"
SEED = 20240611
HANG_S = 2.0  # the per-call limit in cases that hang on purpose
CALM_S = 20.0  # the per-call limit where nothing should hang (slow machines must not turn into timeouts)
OUT_FILES = {"results.json", "judge.log", "student.log", "launcher.json"}

# Anchors: the line of the reference each attack is put in front of (each occurs once in its file).
ACCURACY_BODY = ("metrics.py", "        xp = backend.xp()\n")
ACCURACY_RETURN = "        return hits.mean()\n"
INVERSE_BODY = ("onehot.py", "        return self.classes[np.argmax(backend.to_numpy(data), axis=-1)]\n")
RELU_BODY = ("activations.py", "        return backend.xp().maximum(x, 0)\n")


# -- helpers -------------------------------------------------------------------------------------------------
def grade(released: Released, sandbox: Sandbox, zip_bytes: bytes, *, suite: str = METRICS,
          call_timeout_s: float = CALM_S, **kwargs) -> dict:
    """Grade one zip over one suite with a fixed seed; the run must leave no process behind on the host."""
    watched = _Watched(sandbox)
    result = grade_json(released, zip_bytes, watched, seed=SEED, suites=(suite,),
                       call_timeout_s=call_timeout_s, **kwargs)
    _assert_no_stray_processes(watched.uids)
    return result


class _Watched(Sandbox):
    """The backend under test, noting the judge and student uids of the job it runs."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner, self.name, self.uids = inner, inner.name, set()

    def check(self) -> None:
        self.inner.check()

    def run(self, job_dir: Path, out_dir: Path, limits):
        spec = JobSpec.read(job_dir)
        self.uids = {spec.judge_uid, spec.student_uid}
        return self.inner.run(job_dir, out_dir, limits)


def inject(anchor: tuple[str, str], code: str) -> dict[str, str]:
    """``replace=`` for ``submission``: the reference file with ``code`` inserted before the anchor line."""
    rel, line = anchor
    source = (REFERENCE / rel).read_text()
    assert source.count(line) == 1, f"{rel}: the anchor {line!r} is not unique"
    indent = line[: len(line) - len(line.lstrip())]
    block = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent)
    return {f"beras/{rel}": source.replace(line, block + line)}


def replace_line(rel: str, line: str, new: str, prelude: str = "") -> dict[str, str]:
    """``replace=``: the reference file with one line swapped, and ``prelude`` added at its end."""
    source = (REFERENCE / rel).read_text()
    assert source.count(line) == 1, f"{rel}: the line {line!r} is not unique"
    return {f"beras/{rel}": source.replace(line, new) + "\n" + textwrap.dedent(prelude)}


def at_import(rel: str, code: str) -> dict[str, str]:
    """``append=``: code run when the module is imported."""
    return {f"beras/{rel}": textwrap.dedent(code)}


def short(test: dict) -> str:
    return test["name"].split("::", 1)[1]


def uses_accuracy(name: str) -> bool:
    return name.startswith("test_accuracy")


def uses_inverse(name: str) -> bool:
    return name.startswith(("test_onehot_inverse", "test_onehot_round_trip", "test_onehot_single_class"))


def uses_relu(name: str) -> bool:
    return "[relu-" in name or name.endswith("[relu]")


def everything(name: str) -> bool:
    return True


def score_where(result: dict, predicate: Callable[[str], bool]) -> float:
    return sum(t["score"] for t in result["tests"] if predicate(short(t)))


def assert_graded(result: dict, baseline: dict, *, complete: bool = True) -> None:
    assert result["status"] == "graded", result["output"]
    assert result["complete"] is complete, result["output"]
    assert result["integrity"]["tamper_proof"] is True, result["integrity"]
    assert [t["name"] for t in result["tests"]] == [t["name"] for t in baseline["tests"]]
    assert result["max_score"] == pytest.approx(baseline["max_score"])


def assert_split(result: dict, baseline: dict, attacked: Callable[[str], bool], outcomes: set[str],
                 *fragments: str) -> None:
    """The attacked tests fail with one of ``outcomes`` and a message holding every fragment; the rest
    score exactly what the reference scored."""
    assert_graded(result, baseline)
    expected = {short(t): t for t in baseline["tests"]}
    hit = [t for t in result["tests"] if attacked(short(t))]
    spared = [t for t in result["tests"] if not attacked(short(t))]
    assert bool(hit) == bool(outcomes), "an attack with outcomes must touch a test; one without, none"
    for test in spared:
        name = short(test)
        assert (test["status"], test["score"]) == (expected[name]["status"], expected[name]["score"]), (
            f"{name} does not touch the attacked code but got {test['outcome']}: {test['output']}")
    for test in hit:
        name = short(test)
        assert test["status"] == "failed" and test["score"] == 0, f"{name} passed despite the attack"
        assert test["outcome"] in outcomes, f"{name}: outcome {test['outcome']}: {test['output']}"
        assert test["output"].strip(), f"{name}: no message"
        for fragment in fragments:
            assert fragment.lower() in test["output"].lower(), (
                f"{name}: {fragment!r} not in {test['output']!r}")
    assert result["score"] == pytest.approx(score_where(baseline, lambda n: not attacked(n)))


def assert_full_marks(result: dict) -> None:
    assert result["status"] == "graded", result["output"]
    assert result["complete"] is True
    failed = {short(t): t["output"] for t in result["tests"] if t["status"] != "passed"}
    assert not failed, failed
    assert result["score"] == pytest.approx(result["max_score"])


def assert_next_honest_full(released: Released, sandbox: Sandbox, suite: str = METRICS) -> None:
    """The grader is unharmed: the plain reference, graded right after, gets full marks."""
    assert_full_marks(grade(released, sandbox, submission(released), suite=suite))


def _processes_of(uids: set[int]) -> dict[int, str]:
    """Live host processes (zombies aside) running under one of ``uids``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text().splitlines()
            fields = dict(line.split(":", 1) for line in status if ":" in line)
            uid = int(fields["Uid"].split()[0])
            state = fields["State"].strip()
        except (OSError, KeyError, ValueError, IndexError):
            continue
        if uid in uids and not state.startswith(("Z", "X")):
            found[int(entry.name)] = f"uid {uid}, {state}"
    return found


def _assert_no_stray_processes(uids: set[int], wait_s: float = 10.0) -> None:
    deadline = time.monotonic() + wait_s
    while (left := _processes_of(uids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes of the job's judge or student outlived the grading run on the host: {left}"


@pytest.fixture(scope="module")
def baseline(mlp: Released, sandbox: Sandbox) -> dict[str, dict]:
    """The plain reference graded once per backend on each suite used here: full marks, and the timings."""
    results = {}
    for suite in (METRICS, ACTIVATIONS):
        result = grade(mlp, sandbox, submission(mlp), suite=suite)
        assert_full_marks(result)
        results[suite] = result
    return results


# -- 1. fork bombs -------------------------------------------------------------------------------------------
FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

# On one input: forks a child that leaves the process group (setsid) and keeps forking, then hangs.
# Killing the student's process group after the timeout does not reach the escaped processes.
ESCAPING_FORK_BOMB = """
if probs.shape[0] == 37:
    import os, time
    if os.fork() == 0:
        os.setsid()
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
    while True:
        pass
"""
# Put in a method the later tests call: a fresh student process must not share its uid with anything
# an earlier student process left running.
SURVIVORS_PROBE = """
import os as _os
_mine = []
for _pid in [p for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()]:
    try:
        with open(f"/proc/{_pid}/stat") as _f:
            _state = _f.read().rsplit(")", 1)[1].split()[0]
        if _os.stat(f"/proc/{_pid}").st_uid == _os.getuid() and _state not in "ZX":
            _mine.append(_pid)
    except (OSError, IndexError):
        pass
if _mine:
    raise RuntimeError(f"SURVIVORS: {len(_mine)} processes of an earlier student process still run")
"""


def test_fork_bomb_at_import(mlp, sandbox, baseline):
    zip_bytes = submission(mlp, append=at_import("metrics.py", FORK_BOMB))
    result = grade(mlp, sandbox, zip_bytes, call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], everything, {"timeout", "crashed"}, "importing student.beras",
                 "time limit")
    assert [t["outcome"] for t in result["tests"]].count("timeout") == 1, "the import must be tried once"
    assert result["execution_time"] < baseline[METRICS]["execution_time"] + HANG_S + 15
    assert_next_honest_full(mlp, sandbox)


def test_fork_bomb_in_a_method(mlp, sandbox, baseline):
    """On one input only (each bomb costs a whole per-call limit); the calls before and after it pass."""
    bomb = "if probs.shape[0] == 37:\n" + textwrap.indent(FORK_BOMB.strip("\n"), "    ")
    replaced = inject(ACCURACY_BODY, bomb)
    replaced.update(inject(INVERSE_BODY, SURVIVORS_PROBE))  # the bomb's processes all died with it
    result = grade(mlp, sandbox, submission(mlp, replace=replaced), call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], lambda name: name == "test_accuracy[37-10]", {"timeout"},
                 "CategoricalAccuracy()(float64[37, 10]", f"within {HANG_S:g} s", "time limit")
    assert_next_honest_full(mlp, sandbox)


def test_fork_bomb_that_leaves_the_process_group(mlp, sandbox, baseline):
    """Processes that called setsid() must die with the student process that made them: otherwise they
    keep the sandbox's process slots (later student processes cannot start) and run on beside them."""
    replaced = inject(ACCURACY_BODY, ESCAPING_FORK_BOMB)
    replaced.update(inject(INVERSE_BODY, SURVIVORS_PROBE))
    result = grade(mlp, sandbox, submission(mlp, replace=replaced), call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], lambda name: name == "test_accuracy[37-10]", {"timeout"},
                 "CategoricalAccuracy()(float64[37, 10]", "time limit")
    assert_next_honest_full(mlp, sandbox)


# -- 2. memory bombs -----------------------------------------------------------------------------------------
MEMORY_BOMBS = {
    # name: (code put in CategoricalAccuracy.forward, the tests it hits)
    "bytearray_64GiB": ("_hog = bytearray(64 * 2**30)", uses_accuracy),
    "numpy_16GiB": ("import numpy as _np\n_hog = _np.ones(2**31, dtype=_np.float64)", uses_accuracy),
    # Really touches the memory, 16 MiB at a time, until a limit stops it; on one input only (filling
    # the whole allowance takes seconds).
    "growing_list": (
        "if probs.shape[0] == 37:\n    _hog = []\n    while True:\n        _hog.append(b'x' * 2**24)",
        lambda name: name == "test_accuracy[37-10]"),
}


@pytest.mark.parametrize("bomb", MEMORY_BOMBS, ids=list(MEMORY_BOMBS))
def test_memory_bomb_in_a_method(mlp, sandbox, baseline, bomb):
    code, attacked = MEMORY_BOMBS[bomb]
    result = grade(mlp, sandbox, submission(mlp, replace=inject(ACCURACY_BODY, code)))
    assert_split(result, baseline[METRICS], attacked, {"out_of_memory", "crashed"}, "CategoricalAccuracy",
                 "memory")
    assert_next_honest_full(mlp, sandbox)


# -- 3-5. hangs ----------------------------------------------------------------------------------------------
def test_infinite_loop_at_import(mlp, sandbox, baseline):
    zip_bytes = submission(mlp, append=at_import("metrics.py", "while True:\n    pass\n"))
    result = grade(mlp, sandbox, zip_bytes, call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], everything, {"timeout", "crashed"}, "importing student.beras",
                 "time limit")
    assert result["score"] == 0
    outcomes = [t["outcome"] for t in result["tests"]]
    assert outcomes[0] == "timeout" and outcomes.count("timeout") == 1, outcomes
    assert all("not retried" in t["output"] for t in result["tests"][1:])
    # One timeout paid, not one per test (16 tests x 2 s).
    assert result["execution_time"] < baseline[METRICS]["execution_time"] + HANG_S + 10


def test_infinite_loop_in_a_method(mlp, sandbox, baseline):
    zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, "while True:\n    pass\n"))
    result = grade(mlp, sandbox, zip_bytes, call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], uses_accuracy, {"timeout"},
                 "student.beras.CategoricalAccuracy()(", f"did not finish within {HANG_S:g} s",
                 "per-call time limit")


def test_sleep_forever_in_a_method(mlp, sandbox, baseline):
    zip_bytes = submission(mlp, replace=inject(INVERSE_BODY, "import time\ntime.sleep(10**6)\n"))
    result = grade(mlp, sandbox, zip_bytes, call_timeout_s=HANG_S)
    assert_split(result, baseline[METRICS], uses_inverse, {"timeout"}, ".inverse(",
                 f"did not finish within {HANG_S:g} s", "per-call time limit")


def test_wall_clock_limit(mlp, sandbox, baseline):
    """A hang the per-call limit does not catch (it is long) is stopped by the wall clock: the tests that
    finished keep their scores, the rest say why they were not run."""
    fit = ("onehot.py", "        self.classes = np.unique(data)\n")
    zip_bytes = submission(mlp, replace=inject(fit, "while True:\n    pass\n"))
    wall_s = 6.0
    limits = dataclasses.replace(sandbox_limits(mlp), wall_s=wall_s)
    started = time.monotonic()
    result = grade(mlp, sandbox, zip_bytes, call_timeout_s=300, limits=limits)
    assert time.monotonic() - started < wall_s + 30
    assert_graded(result, baseline[METRICS], complete=False)
    for test in result["tests"]:
        if uses_accuracy(short(test)):
            assert test["status"] == "passed", test
        else:
            assert test["status"] == "failed" and test["outcome"] == "timeout", test
            assert f"wall-clock limit of {wall_s:g} s" in test["output"], test["output"]
    assert result["score"] == pytest.approx(score_where(baseline[METRICS], uses_accuracy))
    assert "wall-clock" in result["output"]


# -- 6. a flood of output ------------------------------------------------------------------------------------
GIGABYTE_STDOUT = """
import sys as _sys
_chunk = "x" * 2**20
for _ in range(1024):
    _sys.stdout.write(_chunk)
_sys.stdout.flush()
"""
# In a method: on the first call in each student process (a gigabyte per call would only slow the run).
GIGABYTE_STDERR = """
import os as _os, sys as _sys
if not getattr(_sys, "_flooded", False):
    _sys._flooded = True
    _chunk = b"e" * 2**20
    for _ in range(1024):
        _os.write(2, _chunk)
"""
GIGABYTE_PRINT = """
import sys as _sys
if not getattr(_sys, "_flooded", False):
    _sys._flooded = True
    for _ in range(2**16):
        print("p" * 2**14, flush=True)
"""


@pytest.mark.parametrize("where,code", [("import", GIGABYTE_STDOUT), ("method", GIGABYTE_STDERR),
                                        ("method", GIGABYTE_PRINT)],
                         ids=["stdout_at_import", "stderr_in_a_method", "print_in_a_method"])
def test_a_gigabyte_of_output(mlp, sandbox, baseline, tmp_path, where, code):
    if where == "import":
        zip_bytes = submission(mlp, append=at_import("metrics.py", code))
    else:
        zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, code))
    result = grade(mlp, sandbox, zip_bytes, keep=tmp_path / "out")
    assert_graded(result, baseline[METRICS])
    assert_full_marks(result)
    assert result["resources"]["student_output_bytes"] >= 2**30
    cap = mlp.assignment.limits.output_kb * 1024
    assert (tmp_path / "out" / "student.log").stat().st_size <= cap
    assert (tmp_path / "out" / "judge.log").stat().st_size < 2**20
    assert {p.name for p in (tmp_path / "out").iterdir()} == OUT_FILES


# -- 7. the network ------------------------------------------------------------------------------------------
NETWORK_PROBE = """
import os as _os, socket as _socket
_targets = [
    (_socket.AF_INET, _socket.SOCK_STREAM, ("127.0.0.1", {port})),        # a server on the host's loopback
    (_socket.AF_UNIX, _socket.SOCK_STREAM, "\\0{abstract}"),               # an abstract socket on the host
    (_socket.AF_INET, _socket.SOCK_STREAM, ("8.8.8.8", 53)),
    (_socket.AF_INET, _socket.SOCK_STREAM, ("1.1.1.1", 443)),
    (_socket.AF_UNIX, _socket.SOCK_STREAM, "/var/run/docker.sock"),
    (_socket.AF_UNIX, _socket.SOCK_STREAM, "/run/docker.sock"),
]
for _family, _kind, _address in _targets:
    _s = _socket.socket(_family, _kind)
    _s.settimeout(1.0)
    try:
        _s.connect(_address)
    except OSError:
        pass
    else:
        raise RuntimeError(f"NETWORK: connected to {{_address!r}}")
    finally:
        _s.close()
_u = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
try:
    _u.sendto(b"beras", ("8.8.8.8", 53))
except OSError:
    pass
else:
    raise RuntimeError("NETWORK: sent a UDP datagram to 8.8.8.8:53")
"""


def test_no_network(mlp, sandbox, baseline):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract = f"beras-adversarial-{time.monotonic_ns()}"
    with tcp, unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        tcp.setblocking(False)
        unix.bind("\0" + abstract)
        unix.listen()
        unix.setblocking(False)
        code = NETWORK_PROBE.format(port=tcp.getsockname()[1], abstract=abstract)
        result = grade(mlp, sandbox, submission(mlp, append=at_import("metrics.py", code)))
        for listener in (tcp, unix):
            with pytest.raises(BlockingIOError):
                listener.accept()  # nothing from the sandbox reached the host
    assert not [t["output"] for t in result["tests"] if "NETWORK" in t["output"]]
    assert_split(result, baseline[METRICS], lambda name: False, set())


# -- 8. reading the hidden tests, the reference, the results -------------------------------------------------
LEAK_PROBE = """
import os as _os

_SECRET_FILES = [
    "/work/judge/beras-mlp/hidden_tests/test_activations.py",
    "/work/judge/beras-mlp/hidden_tests/conftest.py",
    "/work/judge/beras-mlp/assignment.toml", "/work/judge/reference/beras/activations.py",
    "/work/judge/points.json", "/work/judge/test-ids.json",
    "/job/judge/beras-mlp/hidden_tests/test_activations.py", "/job/judge/reference/beras/activations.py",
    "/job/job.json", "/job/student/beras/activations.py",
    "/out/results.json", "/out/results.json.partial", "/out/judge.log", "/out/launcher.json",
    "/out/student.log",
]
_SECRET_DIRS = ["/work/judge", "/work/judge/beras-mlp", "/work/judge-home", "/job", "/job/judge", "/out"]
_SECRET_NAMES = {"test_activations.py", "test_metrics_onehot.py", "points.json", "test-ids.json", "job.json",
                 "results.json", "judge.log", "launcher.json"}
_SKIP_DIRS = {"site-packages", "dist-packages", "proc", "sys", "dev", ".pyenv"}


def _walk_for_secrets():
    # Anything visible to the student that names the hidden tests or holds a solution, outside its own files.
    found = []
    for top in ("/work", "/tmp", "/job", "/out", "/run", "/var", "/home", "/root", "/srv", "/opt", "/mnt"):
        for root, dirs, files in _os.walk(top):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith("python3")]
            if root.startswith(("/work/student", "/work/lib")):
                continue
            for name in files:
                path = _os.path.join(root, name)
                if name in _SECRET_NAMES or "hidden_tests" in path:
                    found.append(path)
                elif name.endswith(".py"):
                    try:
                        with open(path, "rb") as handle:
                            if b"# BEGIN SOLUTION" in handle.read(1 << 20):
                                found.append(path)
                    except OSError:
                        pass
    return found


_WALKED = _walk_for_secrets()


def _try_to_read():
    leaks = [f"found {path}" for path in _WALKED]
    for path in _SECRET_FILES:
        try:
            with open(path, "rb") as handle:
                leaks.append(f"{path}: {handle.read(50)!r}")
        except OSError:
            pass
    for folder in _SECRET_DIRS:
        try:
            leaks.append(f"{folder}: {sorted(_os.listdir(folder))[:5]}")
        except OSError:
            pass
    me = str(_os.getpid())
    for pid in [p for p in _os.listdir("/proc") if p.isdigit() and p != me]:
        for rel in ("cwd/hidden_tests/test_activations.py", "cwd/conftest.py", "environ", "mem", "maps",
                    "root/work/judge/points.json", "fd/0"):
            try:
                with open(f"/proc/{pid}/{rel}", "rb") as handle:
                    leaks.append(f"/proc/{pid}/{rel}: {handle.read(50)!r}")
            except OSError:
                pass
        try:
            leaks.append(f"/proc/{pid}/cwd: {_os.listdir(f'/proc/{pid}/cwd')[:5]}")
        except OSError:
            pass
    return leaks
"""


def test_cannot_read_hidden_tests_reference_or_results(mlp, sandbox, baseline):
    source = (REFERENCE / "activations.py").read_text()
    replaced = inject(RELU_BODY, """
        _leaks = _try_to_read()
        if _leaks:
            raise RuntimeError("LEAK:" + " | ".join(_leaks)[:3000])
    """)
    replaced["beras/activations.py"] += "\n" + LEAK_PROBE
    assert source != replaced["beras/activations.py"]
    result = grade(mlp, sandbox, submission(mlp, replace=replaced), suite=ACTIVATIONS)
    leaked = [t["output"] for t in result["tests"] if "LEAK" in t["output"]]
    assert not leaked, leaked[0]
    assert_full_marks(result)
    probed = [t for t in result["tests"] if uses_relu(short(t))]
    relu_tests = [t for t in baseline[ACTIVATIONS]["tests"] if uses_relu(short(t))]
    # The probe ran (in every ReLU test the suite has) and found nothing.
    assert len(probed) == len(relu_tests) >= 10 and all(t["status"] == "passed" for t in probed)
    assert result["score"] == pytest.approx(baseline[ACTIVATIONS]["score"])


# -- 9. writing outside the work folder ----------------------------------------------------------------------
WRITE_PROBE = """
import os as _os

_TARGETS = ["/escape", "/usr/escape", "/usr/lib/escape.py", "/etc/escape", "/job/escape", "/job/judge/escape",
            "/out/escape", "/out/results.json", "/out/results.json.partial", "/out/judge.log",
            "/out/launcher.json",
            "/work/escape", "/work/conftest.py", "/work/judge/escape", "/work/judge/points.json",
            "/work/judge/beras-mlp/hidden_tests/conftest.py", "/work/judge/beras-mlp/conftest.py",
            "/work/judge/reference/beras/metrics.py", "/work/judge-home/escape", "/work/lib/escape.py",
            "/work/lib/grader/__init__.py", "/work/lib/grader/harness/checks.py",
            "/work/lib/sitecustomize.py",
            "/work/student/beras/metrics.py", "/work/student/escape", "/proc/sys/kernel/core_pattern",
            "/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/memory.max"]


def _try_to_write():
    wrote = []
    for path in _TARGETS:
        try:
            with open(path, "a") as handle:
                handle.write("")
            wrote.append(path)
        except OSError:
            pass
    for folder in ("/work/judge", "/work/judge-home", "/out", "/work/lib/grader/harness"):
        try:
            _os.chmod(folder, 0o777)
            wrote.append("chmod " + folder)
        except OSError:
            pass
        try:
            _os.symlink("/tmp", folder + "/link")
            wrote.append("symlink in " + folder)
        except OSError:
            pass
    try:
        _os.rename("/work/lib/grader", "/work/lib/moved")
        wrote.append("renamed /work/lib/grader")
    except OSError:
        pass
    # Allowed: the student's home (its cwd) and /tmp; proof that the probe itself works.
    for path in ("results.json", "/tmp/results.json"):
        with open(path, "w") as handle:
            handle.write("{}")
    return wrote
"""


def test_cannot_write_outside_its_home(mlp, sandbox, baseline, tmp_path):
    replaced = inject(ACCURACY_BODY, """
        _wrote = _try_to_write()
        if _wrote:
            raise RuntimeError("WROTE:" + " | ".join(_wrote))
    """)
    replaced["beras/metrics.py"] += "\n" + WRITE_PROBE
    result = grade(mlp, sandbox, submission(mlp, replace=replaced), keep=tmp_path / "out")
    wrote = [t["output"] for t in result["tests"] if "WROTE" in t["output"]]
    assert not wrote, wrote[0]
    assert_full_marks(result)
    assert_split(result, baseline[METRICS], lambda name: False, set())
    assert {p.name for p in (tmp_path / "out").iterdir()} == OUT_FILES
    assert_next_honest_full(mlp, sandbox)


# -- 10. forged results --------------------------------------------------------------------------------------
def _forgery(released: Released) -> str:
    """Code that prints and writes a results file claiming full marks, at import and at exit."""
    fake = {"score": 1000.0, "max_score": 1000.0, "complete": True, "seed": SEED, "status": "graded",
            "output": "Score: 1000 / 1000.", "problems": [], "execution_time_s": 0.1,
            "tests": [{"name": test_id, "status": "passed", "outcome": "passed", "score": p.points,
                       "max_score": p.points, "output": ""} for test_id, p in released.points.items()]}
    return f"""
import atexit as _atexit, os as _os, sys as _sys

_FAKE = {json.dumps(json.dumps(fake))}


def _forge():
    print(_FAKE, flush=True)
    print(_FAKE, file=_sys.stderr, flush=True)
    _os.write(1, ("\\n" + _FAKE + "\\n").encode())
    for path in ("/out/results.json", "/out/results.json.partial", "results.json", "/tmp/results.json",
                 "/work/results.json", "/work/student-home/results.json"):
        try:
            with open(path, "w") as handle:
                handle.write(_FAKE)
        except OSError:
            pass


_forge()
_atexit.register(_forge)
"""


def test_forged_results_change_nothing(mlp, sandbox, baseline):
    stub = (mlp.starter / "metrics.py").read_text()
    assert 'raise NotImplementedError("CategoricalAccuracy.forward")' in stub
    honest = grade(mlp, sandbox, submission(mlp, replace={"beras/metrics.py": stub}))
    forger = grade(mlp, sandbox, submission(mlp, replace={"beras/metrics.py": stub + _forgery(mlp)}))
    for result in (honest, forger):
        assert_split(result, baseline[METRICS], uses_accuracy, {"failed"}, "NotImplementedError",
                     "CategoricalAccuracy.forward")
    assert forger["score"] == honest["score"]
    assert [(t["name"], t["status"], t["outcome"]) for t in forger["tests"]] == \
        [(t["name"], t["status"], t["outcome"]) for t in honest["tests"]]


# -- 11. exits and exit hooks --------------------------------------------------------------------------------
EXIT_CASES = {
    # name: (where, code, attacked tests, outcomes, message fragments)
    "os._exit_at_import": ("import", "import os\nos._exit(0)\n", everything, {"crashed"},
                           ("importing student.beras", "exited with status 0")),
    "sys.exit_at_import": ("import", "import sys\nsys.exit(0)\n", everything, {"failed"},
                           ("SystemExit",)),
    "os._exit_in_a_method": ("method", "import os\nos._exit(0)\n", uses_accuracy, {"crashed"},
                             ("CategoricalAccuracy", "exited with status 0")),
    "sys.exit_in_a_method": ("method", "import sys\nsys.exit(0)\n", uses_accuracy, {"failed"},
                             ("CategoricalAccuracy", "SystemExit")),
    "KeyboardInterrupt_in_a_method": ("method", "raise KeyboardInterrupt\n", uses_accuracy, {"crashed"},
                                      ("CategoricalAccuracy", "student process")),
    "segfault_in_a_method": ("method", "import ctypes\nctypes.string_at(0)\n", uses_accuracy, {"crashed"},
                             ("CategoricalAccuracy", "segmentation fault")),
}


@pytest.mark.parametrize("case", EXIT_CASES, ids=list(EXIT_CASES))
def test_exits(mlp, sandbox, baseline, case):
    where, code, attacked, outcomes, fragments = EXIT_CASES[case]
    if where == "import":
        zip_bytes = submission(mlp, append=at_import("metrics.py", code))
    else:
        zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, code))
    result = grade(mlp, sandbox, zip_bytes)
    assert_split(result, baseline[METRICS], attacked, outcomes, *fragments)
    assert result["score"] < result["max_score"]


def test_atexit_hooks_change_nothing(mlp, sandbox, baseline):
    """An honest submission whose exit hooks forge results, and which exits on one input (an uncaught
    KeyboardInterrupt ends the interpreter normally, so the hooks run): only that test fails."""
    replaced = inject(ACCURACY_BODY, "if probs.shape[0] == 37:\n    raise KeyboardInterrupt\n")
    replaced["beras/metrics.py"] += _forgery(mlp)
    result = grade(mlp, sandbox, submission(mlp, replace=replaced))
    assert_split(result, baseline[METRICS], lambda name: name == "test_accuracy[37-10]", {"crashed"},
                 "CategoricalAccuracy()(float64[37, 10]", "student process")


# -- 12. killing the launcher, the judge, everything ---------------------------------------------------------
_KILL_ALL = """
import os as _os, signal as _signal
for _pid in [int(p) for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()]:
    for _sig in (_signal.SIGSTOP, _signal.SIGKILL):
        try:
            _os.kill(_pid, _sig)
        except OSError:
            pass
"""
_KILL_JUDGE = """
import os as _os
for _pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
    try:
        with open(f"/proc/{_pid}/cmdline", "rb") as _f:
            _cmd = _f.read()
    except OSError:
        continue
    if b"pytest" in _cmd or b"launcher" in _cmd:
        try:
            _os.kill(int(_pid), 9)
        except OSError:
            pass
"""
_TRY = "import os\ntry:\n    {}\nexcept OSError:\n    pass\n"
KILL_CASES = {
    # name: (where, code, the tests it makes fail (None: none), their outcomes)
    "kill_parent": ("method", _TRY.format("os.kill(os.getppid(), 9)"), None, set()),
    "kill_minus_one": ("method", _TRY.format("os.kill(-1, 9)"), None, set()),
    "kill_pid_1": ("method", _TRY.format("os.kill(1, 9)"), None, set()),
    "killpg_of_parent": ("method", _TRY.format("os.killpg(os.getpgid(os.getppid()), 9)"), None, set()),
    "kill_the_judge_by_name": ("method", _KILL_JUDGE, None, set()),
    "stop_and_kill_every_pid": ("method", _KILL_ALL, None, set()),
    "kill_minus_one_at_import": ("import", _TRY.format("os.kill(-1, 9)"), None, set()),
    "kill_every_pid_at_import": ("import", _KILL_ALL, None, set()),
    # Killing its own group kills the student process itself: only the tests that call it fail.
    "killpg_own_group": ("method", "import os\nos.killpg(0, 9)\n", uses_accuracy,
                         {"crashed", "out_of_memory"}),
    "killpg_own_group_at_import": ("import", "import os\nos.killpg(0, 9)\n", everything,
                                   {"crashed", "out_of_memory"}),
}
# The cases after which an honest submission is graded again (each costs a grading).
KILL_THEN_HONEST = {"kill_parent", "kill_the_judge_by_name", "stop_and_kill_every_pid",
                    "kill_every_pid_at_import"}


@pytest.mark.parametrize("case", KILL_CASES, ids=list(KILL_CASES))
def test_kills(mlp, sandbox, baseline, case):
    where, code, attacked, outcomes = KILL_CASES[case]
    if where == "import":
        zip_bytes = submission(mlp, append=at_import("metrics.py", code))
    else:
        zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, code))
    result = grade(mlp, sandbox, zip_bytes)
    # The judge and the launcher survive: the run is graded and complete, and what the attack did not
    # touch scores exactly as the reference does.
    assert_split(result, baseline[METRICS], attacked or (lambda name: False), outcomes,
                 *(("killed by SIGKILL",) if attacked else ()))
    if case in KILL_THEN_HONEST:
        assert_next_honest_full(mlp, sandbox)


# -- 13. monkeypatching the student process ------------------------------------------------------------------
WRONG_ACCURACY = "        return hits.mean() + 0.125\n"  # never the right value
PATCHES = {
    "numpy_comparisons": """
        import numpy as _np, numpy.testing as _npt
        _np.allclose = lambda *a, **k: True
        _np.isclose = lambda a, b, *r, **k: _np.ones(_np.broadcast(a, b).shape, dtype=bool)
        _np.array_equal = lambda *a, **k: True
        _np.testing.assert_allclose = lambda *a, **k: None
        _npt.assert_array_equal = lambda *a, **k: None
        _npt.assert_array_almost_equal = lambda *a, **k: None
        _np.ndarray.all = lambda self, *a, **k: True  # a builtin type: raises TypeError, caught below
    """,
    # Lies that leave the student's own side working: comparisons made here would all pass.
    "builtins_that_lie": """
        import builtins as _b
        _real_isinstance = _b.isinstance
        _b.isinstance = lambda obj, cls: _real_isinstance(obj, cls) or cls is AssertionError
        _b.abs = lambda x: 0 * x
        _b.all = lambda iterable: True
        _b.any = lambda iterable: False
    """,
    # So brutal that the student process cannot even import: its loss, and nothing else.
    "builtins_isinstance_always_true": """
        import builtins as _b
        _b.isinstance = lambda obj, cls: True
    """,
    "the_harness_in_the_student_process": """
        import grader.harness as _h, grader.harness.checks as _c, grader.harness.codec as _codec
        _h.assert_close = _c.assert_close = lambda *a, **k: None
        _h.assert_equal = _c.assert_equal = lambda *a, **k: None
        _c._compare_arrays = lambda *a, **k: None
        _codec.CodecError = type("Harmless", (Exception,), {})
    """,
}


@pytest.mark.parametrize("patch", PATCHES, ids=list(PATCHES))
def test_monkeypatching_cannot_make_a_wrong_answer_pass(mlp, sandbox, baseline, patch):
    prelude = "try:\n" + textwrap.indent(textwrap.dedent(PATCHES[patch]).strip("\n"), "    ") + \
        "\nexcept Exception:\n    pass\n"
    zip_bytes = submission(mlp, replace=replace_line("metrics.py", ACCURACY_RETURN, WRONG_ACCURACY, prelude))
    result = grade(mlp, sandbox, zip_bytes)
    assert_graded(result, baseline[METRICS])
    accuracy = [t for t in result["tests"] if uses_accuracy(short(t))]
    assert accuracy and all(t["status"] == "failed" and t["output"] for t in accuracy), accuracy
    if patch != "builtins_isinstance_always_true":  # that one breaks the student's side of the pipe: its loss
        assert_split(result, baseline[METRICS], uses_accuracy, {"failed"}, "CategoricalAccuracy", "differ")
    assert result["score"] <= score_where(baseline[METRICS], lambda name: not uses_accuracy(name)) + 1e-9


# -- 14. values that try to pass for the right answer --------------------------------------------------------
RETURNS = {
    # name: (module-level helpers, return expression given the right answer `_right`, message fragments)
    "always_equal_object": ("""
        class _AlwaysEqual:
            def __eq__(self, other): return True
            __ne__ = lambda self, other: False
            def __float__(self): return 0.5
            def __array__(self, *a, **k):
                import numpy
                return numpy.asarray(0.5)
        """, "_AlwaysEqual()", ("cannot fetch", "cannot cross")),
    "ndarray_subclass_that_lies": ("""
        import numpy as _np
        class _Liar(_np.ndarray):
            def __eq__(self, other): return _np.ones(_np.shape(other), dtype=bool)
            def __ne__(self, other): return _np.zeros(_np.shape(other), dtype=bool)
            def __array__(self, *a, **k): return _np.asarray(_RIGHT[0])
            def __float__(self): return float(_RIGHT[0])
        _RIGHT = [0.0]
        def _lie(right):
            _RIGHT[0] = right
            return _np.asarray(right + 0.375).reshape(()).view(_Liar)
        """, "_lie(_right)", ("differ beyond",)),
    "float_subclass_that_lies": ("""
        class _Float(float):
            def __eq__(self, other): return True
            __hash__ = float.__hash__
        """, "_Float(_right + 0.375)", ("differ beyond",)),
    "object_array": ("import numpy as _np", "_np.array([_right], dtype=object)", ("numeric dtype",)),
    "structured_array": ("import numpy as _np", "_np.zeros(1, dtype=[('a', 'f8')])", ("numeric dtype",)),
    "datetime_array": ("import numpy as _np", "_np.array(['2024-01-01'], dtype='datetime64[D]')",
                       ("numeric dtype",)),
    "array_over_the_cap": ("import numpy as _np", "_np.zeros(300 * 2**20, dtype=_np.uint8)", ("256 MiB",)),
    "huge_broadcast_view": ("import numpy as _np", "_np.broadcast_to(_np.float64(_right), (2**40,))",
                            ("CategoricalAccuracy",)),
    "nan": ("", "float('nan')", ("NaN",)),
    "inf": ("", "float('inf')", ("differ beyond",)),
    "tag_injection": ("", "{'$ref': 0}", ("reserved",)),
    "tuple_tag_injection": ("", "{'$tuple': [_right]}", ("reserved",)),
    "generator": ("", "(x for x in [_right])", ("cannot fetch",)),
}


@pytest.mark.parametrize("kind", RETURNS, ids=list(RETURNS))
def test_odd_return_values_never_pass(mlp, sandbox, baseline, kind):
    helpers, expression, fragments = RETURNS[kind]
    new = f"        _right = float(hits.mean())\n        return {expression}\n"
    # Callable.__call__ (in core.py, not the student's) would wrap the value in a Tensor; the student may
    # override it in its own file, so the odd value itself reaches the boundary.
    helpers = textwrap.dedent(helpers) + (
        "\nCategoricalAccuracy.__call__ = lambda self, *a, **k: self.forward(*a, **k)\n")
    zip_bytes = submission(mlp, replace=replace_line("metrics.py", ACCURACY_RETURN, new, helpers))
    result = grade(mlp, sandbox, zip_bytes)
    assert_split(result, baseline[METRICS], uses_accuracy, {"failed", "out_of_memory", "crashed"}, *fragments)


# -- 15. confinement of the whole job: memory, namespaces, keyrings, locks, CPU ------------------------------
# Each student process is held to its own address-space limit, but a job is more than one process: these
# attacks need the sandbox itself to be confined (docker's cgroup and seccomp profile; the local
# sandbox's job cgroup, seccomp filter and session keyring).
def require_confinement(result: dict, *guarantees: str) -> None:
    """Fail (under `make test`) or skip visibly where this machine could not give one of ``guarantees``: the
    run says so itself (``integrity.missing``), and the case cannot be shown here."""
    missing = {m["guarantee"]: m["why"] for m in result["integrity"].get("missing", [])}
    lacking = [f"{guarantee}: {missing[guarantee]}" for guarantee in guarantees if guarantee in missing]
    if lacking:
        require("a sandbox that confines the whole job", "; ".join(lacking))


SMALL_MEMORY_MB = 512  # the student's share in the memory cases: the sandbox holds this + the judge's reserve
# Five children of 320 MiB each, every page written: more than the sandbox's limit together, well under
# each process's own address-space limit. The parent says what became of them.
FORK_AND_ALLOCATE = """
if probs.shape[0] == 37:
    import os as _os, time as _time
    _children = []
    for _ in range(5):
        _pid = _os.fork()
        if _pid == 0:
            try:
                _hog = [b"x" * (64 << 20) for _ in range(5)]
                _time.sleep(3)
            finally:
                _os._exit(0)
        _children.append(_pid)
    _killed = 0
    for _pid in _children:
        _killed += _os.WIFSIGNALED(_os.waitpid(_pid, 0)[1])
    if _killed:
        raise MemoryError(f"{_killed} of {len(_children)} children were killed")
"""


def test_fork_and_allocate_stays_within_the_job_memory(mlp, sandbox, baseline):
    limits = dataclasses.replace(sandbox_limits(mlp), memory_mb=SMALL_MEMORY_MB)
    zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, FORK_AND_ALLOCATE))
    result = grade(mlp, sandbox, zip_bytes, limits=limits)
    require_confinement(result, "job_memory_limit")
    assert_split(result, baseline[METRICS], lambda name: name == "test_accuracy[37-10]", {"out_of_memory"},
                 "CategoricalAccuracy()(float64[37, 10]", "memory")
    resources = result["resources"]
    assert resources["memory_limit_mb"] == pytest.approx(limits.sandbox_memory_mb), resources
    assert resources["oom_killed"] is True, resources
    # The sandbox's own peak (its cgroup's), RAM and swap: the kernel held the whole job to the limit.
    assert resources["peak_memory_mb"] <= limits.sandbox_memory_mb + 0.1, resources
    assert_next_honest_full(mlp, sandbox)


UNSHARE_AND_MOUNT = """
import ctypes as _ct, os as _os
_libc = _ct.CDLL(None, use_errno=True)
if _libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    _e = _ct.get_errno()
    raise OSError(_e, "unshare(CLONE_NEWUSER | CLONE_NEWNS): " + _os.strerror(_e))
_os.makedirs("/tmp/beras-escape", exist_ok=True)
if _libc.mount(b"none", b"/tmp/beras-escape", b"tmpfs", 0, b"size=4g") != 0:
    _e = _ct.get_errno()
    raise OSError(_e, "mount tmpfs: " + _os.strerror(_e))
raise RuntimeError("ESCAPE: a user namespace of its own and a private 4 GiB tmpfs")
"""


def test_unshare_and_mount_are_refused(mlp, sandbox, baseline):
    """A user namespace makes the student root of its own mounts: a tmpfs there held the host's memory."""
    result = grade(mlp, sandbox, submission(mlp, replace=inject(ACCURACY_BODY, UNSHARE_AND_MOUNT)))
    require_confinement(result, "syscall_filter")
    assert not [t["output"] for t in result["tests"] if "ESCAPE" in t["output"]]
    assert_split(result, baseline[METRICS], uses_accuracy, {"failed"}, "PermissionError", "unshare",
                 "Operation not permitted")


_KEYS = """
import ctypes as _ct, os as _os, platform as _platform
_ADD_KEY, _REQUEST_KEY = {{"x86_64": (248, 249), "aarch64": (217, 218)}}[_platform.machine()]
_libc = _ct.CDLL(None, use_errno=True)
_libc.syscall.restype = _ct.c_long
"""
STORE_KEY = _KEYS + """
for _ring in (-3, -4):  # the session keyring, the user keyring
    if _libc.syscall(_ct.c_long(_ADD_KEY), b"user", b"{name}", b"the answers", _ct.c_long(11),
                     _ct.c_long(_ring)) < 0:
        _e = _ct.get_errno()
        raise OSError(_e, "add_key: " + _os.strerror(_e))
"""
READ_KEY = _KEYS + """
if _libc.syscall(_ct.c_long(_REQUEST_KEY), b"user", b"{name}", None, _ct.c_long(0)) >= 0:
    raise RuntimeError("KEYRING: found the key an earlier job stored")
"""


def _keyctl(*args: int | bytes | None) -> int:
    """A raw keyring call from this (the grading) process: ``request_key`` or ``keyctl`` by name."""
    import ctypes
    import platform

    from worker.sandbox.seccomp import DENIED

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    name, *rest = args
    number = DENIED[name][0 if platform.machine() == "x86_64" else 1]
    return libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) if isinstance(a, int) else a for a in rest])


def _key_on_host(name: str) -> bool:
    """Whether the grading process's keyrings hold ``name`` (then it is removed: the test must not leak
    it)."""
    serial = _keyctl("request_key", b"user", name.encode(), None, 0)
    if serial >= 0:
        _keyctl("keyctl", 21, serial)  # KEYCTL_INVALIDATE
    return serial >= 0


def test_a_key_stored_by_one_job_is_not_seen_by_the_next(mlp, sandbox, baseline):
    """The worker's session keyring was every job's: one job's key was the next one's to read."""
    # A worker run by systemd, or in a container, has a session keyring of its own; this process may run
    # on the user-session keyring of its uid instead, so it joins a fresh one, as such a worker would have.
    assert _keyctl("keyctl", 1, None) >= 0  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
    name = f"beras-adversarial-{time.monotonic_ns()}"
    store = grade(mlp, sandbox, submission(mlp, replace=inject(ACCURACY_BODY, STORE_KEY.format(name=name))))
    read = grade(mlp, sandbox, submission(mlp, replace=inject(ACCURACY_BODY, READ_KEY.format(name=name))))
    on_host = _key_on_host(name)
    require_confinement(store, "syscall_filter")
    assert not on_host, "the job's key landed in the grading process's own keyring"
    assert not [t["output"] for t in read["tests"] if "KEYRING" in t["output"]]
    assert_full_marks(read)
    assert_split(store, baseline[METRICS], uses_accuracy, {"failed"}, "PermissionError", "add_key")


# Both jobs run this: the first to lock a file every sandbox shares (the standard library's os.py,
# read-only) keeps the locks while its student process lives; the other one would see them.
LOCK_PROBE = """
import fcntl as _fcntl, os as _os, struct as _struct, sys as _sys
_file = getattr(_sys, "_beras_lock_file", None)
if _file is None:
    _file = _sys._beras_lock_file = open(_os.__file__, "rb")
    _layout = "hhqqi"  # struct flock: type, whence, start, len, pid
    _seen = _fcntl.fcntl(_file, _fcntl.F_GETLK, _struct.pack(_layout, _fcntl.F_WRLCK, 0, 0, 0, 0))
    if _struct.unpack(_layout, _seen[:_struct.calcsize(_layout)])[0] != _fcntl.F_UNLCK:
        raise RuntimeError("LOCK CHANNEL: another job holds a record lock on " + _os.__file__)
    _fcntl.lockf(_file, _fcntl.LOCK_SH | _fcntl.LOCK_NB)
try:
    _fcntl.flock(_file, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
except BlockingIOError:
    raise RuntimeError("LOCK CHANNEL: another job holds a flock on " + _os.__file__) from None
"""


def test_locks_on_shared_files_are_no_channel_between_jobs(mlp, sandbox, baseline):
    """Two jobs at once, each locking a file both see: a lock one takes must not be seen by the other
    (refused, or not shared)."""
    from concurrent.futures import ThreadPoolExecutor

    zip_bytes = submission(mlp, replace=inject(ACCURACY_BODY, LOCK_PROBE))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: grade(mlp, sandbox, zip_bytes), range(2)))
    for result in results:
        require_confinement(result, "syscall_filter")
        assert not [t["output"] for t in result["tests"] if "LOCK CHANNEL" in t["output"]]
        refused = [t for t in result["tests"] if uses_accuracy(short(t)) and t["status"] != "passed"]
        if refused:
            assert_split(result, baseline[METRICS], uses_accuracy, {"failed"}, "PermissionError")
        else:
            assert_full_marks(result)


HOG_S = 4.0
SMALL_CPUS = 0.5  # under this machine's cores, so that a quota shows
# 64 busy processes for HOG_S seconds, then a correct answer. The children wait on a pipe until all are
# forked and stop on their own: under a small quota the parent gets a sixty-fourth of it, too little to
# fork or kill one by one against busy siblings within a per-call limit.
CPU_HOG = f"""
if probs.shape[0] == 37:
    import os as _os, time as _time
    _go_read, _go_write = _os.pipe()
    _kids = []
    for _ in range(64):
        _pid = _os.fork()
        if _pid == 0:
            _os.close(_go_write)
            _os.read(_go_read, 1)
            _end = _time.monotonic() + {HOG_S}
            while _time.monotonic() < _end:
                pass
            _os._exit(0)
        _kids.append(_pid)
    _os.close(_go_write)  # all of them start now
    for _pid in _kids:
        _os.waitpid(_pid, 0)
    _os.close(_go_read)
"""


def test_a_cpu_hog_is_held_to_the_quota(mlp, sandbox, baseline):
    """The whole job, 64 busy processes included, gets ``cpus`` cores. Not a timing: the kernel's own count
    of the job's CPU seconds against its wall time (the side-by-side slowdown is in bench/sandbox.py)."""
    limits = dataclasses.replace(sandbox_limits(mlp), cpus=SMALL_CPUS)
    result = grade(mlp, sandbox, submission(mlp, replace=inject(ACCURACY_BODY, CPU_HOG)), limits=limits,
                   call_timeout_s=120)
    require_confinement(result, "job_cpu_limit", "job_pids_limit")
    assert_full_marks(result)
    resources = result["resources"]
    assert resources["cpu_limit"] == pytest.approx(SMALL_CPUS), resources
    assert resources["pids_limit"] == limits.sandbox_pids, resources
    assert resources["cpu_s"] >= HOG_S * SMALL_CPUS * 0.5, resources  # the hog did run
    assert resources["cpu_s"] <= SMALL_CPUS * resources["wall_s"] * 1.1 + 0.5, resources


# -- determinism ---------------------------------------------------------------------------------------------
# Right or wrong depending on the (seeded) inputs, so that a change of inputs between runs would show.
FLAKY_LOOKING = """
        _v = float(_np.asarray(probs).ravel()[0])
        if _v > 0.3:
            return hits.mean() + 0.125
"""


def test_same_seed_same_grade(mlp, local_sandbox):
    zip_bytes = submission(mlp, replace=inject(("metrics.py", ACCURACY_RETURN),
                                               "import numpy as _np\n" + textwrap.dedent(FLAKY_LOOKING)))
    runs = [grade(mlp, local_sandbox, zip_bytes) for _ in range(20)]
    first = runs[0]
    assert first["status"] == "graded" and first["complete"]
    statuses = {t["status"] for t in first["tests"] if uses_accuracy(short(t))}
    assert statuses == {"passed", "failed"}, "the submission must pass some accuracy tests and fail others"
    view = [[(t["name"], t["status"], t["outcome"], t["score"], t["fetch_digest"]) for t in r["tests"]]
            for r in runs]
    assert all(v == view[0] for v in view), "the same submission and seed graded differently"
    assert len({r["score"] for r in runs}) == 1


# -- results that would not fit ------------------------------------------------------------------------------
# 4,000 emoji (the student side's cap on a message, in characters) are 48 KB once JSON-encoded: over the
# 101 tests of both suites, every one of them failing with that message, 4.8 MB against the 4 MiB cap.
ASTRAL_IMPORT_ERROR = 'raise RuntimeError("\\U0001F4A5" * 5000)\n'


def test_messages_of_astral_characters_are_graded_not_lost(mlp, sandbox, baseline):
    """The student's own failure messages can never make its results file unreadable ("could not be
    graded")."""
    zip_bytes = submission(mlp, append=at_import("metrics.py", ASTRAL_IMPORT_ERROR))
    watched = _Watched(sandbox)
    result = grade_json(mlp, zip_bytes, watched, seed=SEED, suites=(METRICS, ACTIVATIONS),
                        call_timeout_s=CALM_S)
    _assert_no_stray_processes(watched.uids)
    assert result["status"] == "graded" and result["complete"] is True, result["output"]
    assert len(result["tests"]) == len(baseline[METRICS]["tests"]) + len(baseline[ACTIVATIONS]["tests"])
    assert result["score"] == 0
    assert all(t["outcome"] != "passed" and "\U0001F4A5" in t["output"] for t in result["tests"])
    assert any("more characters]" in t["output"] for t in result["tests"])
