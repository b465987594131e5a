"""The student in its own process: framing, deadlines, crashes, exits, limits, protocol violations, restarts.

Every test here starts real student processes (``DirectSpawner``) on a small fake
submission that misbehaves on request. Per-call limits are short so the file runs in
seconds; the hang tests warm the process first, so the limit measures the hang alone.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from grader.harness import codec, framing
from grader.harness.handles import FailureKind, Session, StudentError, StudentProcessFailed, fetch
from grader.harness.process import (
    INTERRUPT_GRACE_S,
    DirectSpawner,
    ProcessLimits,
    ProcessTransport,
    describe_exit,
)
from tests.harness.conftest import FAKE_CORE, write_package

pytestmark = pytest.mark.skipif(os.name != "posix",
                                reason="the student process needs POSIX pipes and signals")

CALL_TIMEOUT = 3.0  # ordinary calls: generous, the first one includes starting Python and numpy
HANG_TIMEOUT = 0.5  # calls that are meant to hit the limit
FAST = 0.2  # what "immediately" means

PROCESS_BERAS = '''
    """A fake student beras that misbehaves on request."""

    import ctypes
    import os
    import signal
    import struct
    import subprocess
    import sys
    import threading
    import time

    import numpy as np

    from beras.core import Bag, Recorder  # the in-process tests' fakes, served from a process here

    print("beras: imported")


    def pid():
        return os.getpid()


    def add(a, b=0):
        return a + b


    def arange(n):
        return np.arange(n, dtype=np.float64)


    def double(x):
        return x * 2


    def boom():
        raise ValueError("boom")


    class Thing:
        def __init__(self, value):
            self.value = value

        def get(self):
            return self.value


    def countdown(n):
        while n > 0:
            yield n
            n -= 1


    def chatty(lines):
        """Print a lot, on both streams and below Python, including bytes that look like frames."""
        for index in range(lines):
            print(f"out {index}", "x" * 100)
            print(f"err {index}", file=sys.stderr)
        sys.stdout.flush()
        sys.stdout.buffer.write(struct.pack("!Q", 5) + b"hello")
        sys.stdout.buffer.flush()
        os.write(1, struct.pack("!Q", 8) + struct.pack("!Q", 1))
        os.write(2, struct.pack("!Q", 2**40))
        print("chatty: done", flush=True)
        return lines


    def sleep_forever():
        while True:
            time.sleep(60)


    def add_forever():
        n = 0
        while True:
            n += 1


    def sleep_forever_deaf():
        """Ignores the judge's interrupt: only stopping the process ends it."""
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        while True:
            time.sleep(60)


    def spin_swallowing_everything():
        """A loop whose bare except swallows the interrupt too."""
        while True:
            try:
                time.sleep(60)
            except BaseException:
                pass


    def spawn_sleeper():
        """A child in the student's process group, left running."""
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid


    def exit_os(code):
        os._exit(code)


    def exit_sys(code):
        sys.exit(code)


    def kill_self(name):
        os.kill(os.getpid(), getattr(signal, name))


    def segfault():
        ctypes.string_at(0)


    def allocate(n_bytes):
        return len(bytearray(n_bytes))


    def grow_forever():
        chunks = []
        while True:
            chunks.append(np.empty(2**23))  # 64 MiB each, reserved faster than it could be touched


    def exit_later(delay, code):
        threading.Thread(target=lambda: (time.sleep(delay), os._exit(code)), daemon=True).start()
        return 0


    class SlowToDie:
        def __del__(self):
            while True:
                time.sleep(60)


    def _reply_fd():
        return int(sys.argv[sys.argv.index("--out-fd") + 1])


    def _reply_number():
        """The number of the request being served (a forger's knowledge: it reads the server's frame)."""
        frame = sys._getframe()
        while frame.f_code.co_name != "serve":
            frame = frame.f_back
        return frame.f_locals["number"]


    def _frame(body):
        return struct.pack("!Q", len(body)) + body


    def _codec_message(header_text):
        return struct.pack("!II", len(header_text), 0) + header_text


    def write_reply_fd(kind):
        """Write to the judge's reply pipe behind the server's back; then return normally."""
        tag = _frame(struct.pack("!Q", _reply_number()))
        data = {
            "text": b"this is not a message at all",
            "short": b"\\0\\0",
            "frame": _frame(b"hello"),
            "huge": struct.pack("!Q", 2**40),
            "wrong-reply": _frame(struct.pack("!Q", 10**6)) + _frame(_codec_message(b'{"value":42}')),
            "forged-huge": tag + struct.pack("!Q", 2**40),
            "forged-bad-json": tag + _frame(_codec_message(b"{not json")),
            "forged-not-codec": tag + _frame(b"xyz"),
        }[kind]
        os.write(_reply_fd(), data)
        return kind
'''

PROBE = '''
    import os


    def pid():
        return os.getpid()
'''

PROCESS_SUBMISSION = {"beras/__init__.py": PROCESS_BERAS, "beras/core.py": FAKE_CORE}


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    return write_package(tmp_path / "submission", {**PROCESS_SUBMISSION, "probe.py": PROBE})


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "student.log"


@pytest.fixture
def open_session(submission: Path, log: Path):
    """Open sessions with student processes; every one is closed (its process stopped) at teardown."""
    transports = []

    def open_(root: Path | None = None, timeout: float = CALL_TIMEOUT,
              limits: ProcessLimits = ProcessLimits()):
        transport = ProcessTransport(DirectSpawner(root or submission, log, limits), timeout)
        transports.append(transport)
        return Session(transport)

    yield open_
    for transport in transports:
        transport.close()


@pytest.fixture
def session(open_session) -> Session:
    return open_session()


@pytest.fixture
def hang_session(open_session) -> Session:
    return open_session(timeout=HANG_TIMEOUT)


@pytest.fixture
def student(session: Session):
    return session.root()


def student_pid(session: Session) -> int:
    return fetch(session.root().probe.pid())


def assert_reaped(pid: int) -> None:
    """The student process (the judge's own child) is gone and reaped: no zombie left."""
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def wait_gone(pid: int, within: float = 3.0) -> bool:
    """Whether ``pid`` is gone within ``within`` seconds.

    A grandchild is reaped by whoever adopts it (init, here); where the adopter never reaps
    (a container whose pid 1 is the test runner), a zombie is as dead as it gets.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (FileNotFoundError, IndexError):
            pass
        time.sleep(0.02)
    return False


def process_state(pid: int) -> str:
    """The one-letter state in /proc/<pid>/stat: S sleeping, R running, T stopped, Z zombie."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def reaches_state(pid: int, states: str, within: float = 5.0) -> bool:
    """Whether ``pid`` is in one of ``states`` within ``within`` seconds (a signal is delivered, not
    awaited)."""
    deadline = time.monotonic() + within
    while process_state(pid) not in states:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def timed(call):
    """Run ``call``, which must raise StudentProcessFailed; return the failure and the seconds it took."""
    start = time.monotonic()
    with pytest.raises(StudentProcessFailed) as info:
        call()
    return info.value, time.monotonic() - start


# ---------------------------------------------------------------------------- framing, on bare pipes


@pytest.fixture
def pipe():
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    for fd in (read, write):
        try:
            os.close(fd)
        except OSError:
            pass


def test_framing_round_trip_and_numbered_replies(pipe):
    read, write = pipe
    framing.send(write, b"first")
    framing.send(write, b"")
    framing.send_reply(write, 7, b"seventh")
    deadline = time.monotonic() + 1
    assert framing.recv(read, deadline) == b"first"
    assert framing.recv(read, deadline) == b""
    assert framing.recv_reply(read, 7, deadline) == b"seventh"
    framing.send_reply(write, 7, b"late")
    with pytest.raises(framing.ProtocolViolation, match="other than the reply to request 8"):
        framing.recv_reply(read, 8, deadline)


def test_framing_waits_no_longer_than_the_deadline(pipe):
    read, _ = pipe
    start = time.monotonic()
    with pytest.raises(framing.Timeout):
        framing.recv(read, start + 0.2)
    assert 0.2 <= time.monotonic() - start < 0.2 + FAST


def test_framing_times_out_on_half_a_message(pipe):
    read, write = pipe
    os.write(write, struct.pack("!Q", 10) + b"abc")
    with pytest.raises(framing.Timeout):
        framing.recv(read, time.monotonic() + 0.2)


def test_framing_tells_closed_from_cut_short(pipe):
    read, write = pipe
    assert not framing.hung_up(read)
    os.write(write, struct.pack("!Q", 10) + b"abc")
    os.close(write)
    assert framing.hung_up(read)
    with pytest.raises(framing.ProtocolViolation, match="cut short"):
        framing.recv(read, time.monotonic() + 1)
    with pytest.raises(framing.Closed):
        framing.recv(read, time.monotonic() + 1)


def test_framing_refuses_a_length_over_the_cap_without_reading_it(pipe):
    read, write = pipe
    os.write(write, struct.pack("!Q", 2**40))
    cap = f"1099511627776 bytes is over the {codec.MAX_MESSAGE_BYTES}-byte cap"
    with pytest.raises(framing.ProtocolViolation, match=cap):
        framing.recv(read, time.monotonic() + 1)


def test_framing_send_to_a_closed_pipe_is_closed(pipe):
    read, write = pipe
    os.close(read)
    with pytest.raises(framing.Closed):
        framing.send(write, b"anyone there?", time.monotonic() + 1)


@pytest.mark.parametrize(("returncode", "words"), [
    (0, "exited with status 0"),
    (3, "exited with status 3"),
    (-signal.SIGKILL, "was killed by SIGKILL (out of memory, or stopped by a limit)"),
    (-signal.SIGSEGV, "was killed by SIGSEGV (a segmentation fault)"),
    (-signal.SIGXCPU, "was killed by SIGXCPU (the CPU-time limit)"),
    (-signal.SIGTERM, "was killed by SIGTERM"),
])
def test_describe_exit(returncode, words):
    assert describe_exit(returncode) == words


# ---------------------------------------------------------------------------- ordinary work


def test_calls_fetch_with_and_iteration_cross_the_process(session, student):
    beras = student.beras
    assert student_pid(session) != os.getpid()
    assert fetch(beras.add(2, b=3)) == 5
    np.testing.assert_array_equal(fetch(beras.arange(4)), [0.0, 1.0, 2.0, 3.0])
    big = np.random.default_rng(0).random((300, 200))
    np.testing.assert_array_equal(fetch(beras.double(big)), big * 2)
    with beras.Recorder() as recorder:
        pass
    assert fetch(recorder.events) == ["enter", "exit"]
    bag = beras.Bag([10, 20, 30])
    assert [fetch(item) for item in bag] == [10, 20, 30]
    assert len(bag) == 3
    assert fetch(bag[1]) == 20
    assert [fetch(item) for item in beras.countdown(3)] == [3, 2, 1]
    thing = beras.Thing(beras.arange(2))
    np.testing.assert_array_equal(fetch(thing.get()), [0.0, 1.0])
    with pytest.raises(StudentError) as info:
        beras.boom()
    assert not isinstance(info.value, StudentProcessFailed)
    assert info.value.type_name == "ValueError"
    assert "beras/__init__.py" in info.value.student_traceback


def test_student_output_goes_to_the_log_and_not_into_the_channel(session, student, log):
    assert fetch(student.beras.chatty(20_000)) == 20_000
    assert fetch(student.beras.add(1, 2)) == 3  # the channel is still in step
    text = log.read_bytes()
    assert b"beras: imported" in text
    assert b"out 19999 " in text and b"err 19999" in text
    assert struct.pack("!Q", 5) + b"hello" in text
    assert struct.pack("!Q", 2**40) in text
    assert b"chatty: done" in text


# ---------------------------------------------------------------------------- timeouts


def test_a_call_that_never_returns_times_out_and_the_group_is_killed(hang_session):
    beras = hang_session.root().beras
    old_pid = student_pid(hang_session)
    thing = beras.Thing(5)
    sleeper = fetch(beras.spawn_sleeper())
    os.kill(sleeper, 0)  # running, in the student's process group
    assert os.getpgid(sleeper) == old_pid

    failure, took = timed(lambda: beras.sleep_forever_deaf())
    assert failure.kind == "timeout"
    assert str(failure) == ("student.beras.sleep_forever_deaf() did not finish within 0.5 s "
                            "(the per-call time limit)")
    assert HANG_TIMEOUT <= took < HANG_TIMEOUT + INTERRUPT_GRACE_S + 1.0
    assert_reaped(old_pid)
    assert wait_gone(sleeper), "the student's child survived the kill"

    new_pid = student_pid(hang_session)  # a fresh process answers
    assert new_pid != old_pid
    assert fetch(hang_session.root().beras.add(1, 1)) == 2

    failure, took = timed(lambda: thing.get())
    assert took < FAST
    assert failure.kind == "crashed"
    assert str(failure) == (
        "student.beras.Thing(5).get refers to an object of a student process that has since stopped "
        "(after: student.beras.sleep_forever_deaf() did not finish within 0.5 s (the per-call time limit))")
    with pytest.raises(codec.CodecError, match="belongs to a student process that has since stopped"):
        hang_session.root().beras.add(thing, 1)
    assert student_pid(hang_session) == new_pid  # refusing old handles restarts nothing


# A limit the first call (Python and numpy starting) meets on a loaded machine; nothing below is timed.
INTERRUPTED_TIMEOUT = 2.0


@pytest.mark.parametrize("hang", ["sleep_forever", "add_forever"])
def test_a_hang_that_takes_the_interrupt_ends_like_a_raise_and_the_process_serves_on(open_session, hang):
    session = open_session(timeout=INTERRUPTED_TIMEOUT)
    beras = session.root().beras
    pid = student_pid(session)
    thing = beras.Thing(5)
    failure, _ = timed(lambda: getattr(beras, hang)())
    assert failure.kind == "timeout"
    assert str(failure) == f"student.beras.{hang}() did not finish within 2 s (the per-call time limit)"
    assert student_pid(session) == pid  # no restart
    assert fetch(thing.get()) == 5  # the objects made before still answer
    assert fetch(beras.add(2, 3)) == 5


def test_a_hang_that_takes_the_interrupt_but_left_a_child_running_is_stopped_with_it(open_session):
    session = open_session(timeout=INTERRUPTED_TIMEOUT)
    beras = session.root().beras
    pid = student_pid(session)
    sleeper = fetch(beras.spawn_sleeper())
    failure, _ = timed(lambda: beras.sleep_forever())
    assert failure.kind == "timeout"
    assert_reaped(pid)
    assert wait_gone(sleeper), "the student's child survived the timeout"
    assert student_pid(session) != pid


def test_a_hang_that_swallows_the_interrupt_is_stopped(open_session):
    session = open_session(timeout=INTERRUPTED_TIMEOUT)
    beras = session.root().beras
    pid = student_pid(session)
    failure, _ = timed(lambda: beras.spin_swallowing_everything())
    assert failure.kind == "timeout"
    assert_reaped(pid)
    assert student_pid(session) != pid
    assert fetch(session.root().beras.add(1, 1)) == 2


def test_an_import_that_hangs_is_not_retried(open_session, tmp_path):
    root = write_package(tmp_path / "hangs",
                         {"beras/__init__.py": "while True:\n    pass\n", "probe.py": PROBE})
    session = open_session(root, timeout=HANG_TIMEOUT)
    failure, took = timed(lambda: session.root().beras)
    assert failure.kind == "timeout"
    assert str(failure) == "importing student.beras did not finish within 0.5 s (the per-call time limit)"
    assert HANG_TIMEOUT <= took < HANG_TIMEOUT + 1.0
    for attempt in (lambda: session.root().beras, lambda: session.root().beras.Dense(3, 2)):
        failure, took = timed(attempt)
        assert took < FAST
        assert str(failure) == ("importing student.beras did not finish within 0.5 s (the per-call time "
                                "limit) earlier; not retried")
    assert fetch(session.root().probe.pid()) > 0  # the rest of the submission still answers


def test_a_hanging_del_during_the_release_of_objects_restarts_the_process(hang_session):
    beras = hang_session.root().beras
    thing = beras.Thing(1)
    old_pid = student_pid(hang_session)
    slow = beras.SlowToDie()
    del slow
    gc.collect()
    start = time.monotonic()
    new_pid = student_pid(hang_session)  # the release before this call times out; the call itself works
    assert HANG_TIMEOUT <= time.monotonic() - start < HANG_TIMEOUT + 1.0
    assert new_pid != old_pid
    assert_reaped(old_pid)
    failure, _ = timed(lambda: thing.get())
    assert ("has since stopped (after: freeing unused student objects did not finish within 0.5 s"
            in str(failure))


# ---------------------------------------------------------------------------- exits and crashes


@pytest.mark.parametrize("code", [0, 3])
def test_os_exit_inside_a_method(session, student, code):
    old_pid = student_pid(session)
    failure, took = timed(lambda: student.beras.exit_os(code))
    assert took < 1.0
    assert failure.kind == "crashed"
    assert (str(failure)
            == f"student.beras.exit_os({code}) failed: the student process exited with status {code}")
    assert_reaped(old_pid)
    assert fetch(student.beras.add(1, 2)) == 3
    assert student_pid(session) != old_pid


def test_sys_exit_inside_a_method_is_a_student_error_and_the_process_lives_on(session, student):
    old_pid = student_pid(session)
    with pytest.raises(StudentError) as info:
        student.beras.exit_sys(0)
    assert not isinstance(info.value, StudentProcessFailed)
    assert info.value.type_name == "SystemExit"
    assert str(info.value).startswith("student.beras.exit_sys(0) raised SystemExit: 0")
    assert student_pid(session) == old_pid


def test_os_exit_at_import_is_not_retried(open_session, tmp_path):
    root = write_package(tmp_path / "exits",
                         {"beras/__init__.py": "import os\nos._exit(0)\n", "probe.py": PROBE})
    session = open_session(root)
    failure, _ = timed(lambda: session.root().beras)
    assert failure.kind == "crashed"
    assert str(failure) == "importing student.beras failed: the student process exited with status 0"
    failure, took = timed(lambda: session.root().beras.add)
    assert took < FAST
    assert str(failure) == ("importing student.beras failed: the student process exited with status 0 "
                            "earlier; not retried")
    assert fetch(session.root().probe.pid()) > 0


def test_sys_exit_at_import_is_a_student_error_each_time(open_session, tmp_path):
    # The server catches SystemExit like any student exception, so the process survives and a
    # later access imports again (and fails again) instead of being refused.
    root = write_package(tmp_path / "exits",
                         {"beras/__init__.py": "import sys\nsys.exit(0)\n", "probe.py": PROBE})
    session = open_session(root)
    pid = student_pid(session)
    for _ in range(2):
        with pytest.raises(StudentError) as info:
            session.root().beras
        assert not isinstance(info.value, StudentProcessFailed)
        assert info.value.type_name == "SystemExit"
        assert str(info.value).startswith("student.beras raised SystemExit: 0")
    assert student_pid(session) == pid


@pytest.mark.parametrize(("call", "words", "kind"), ids=["SIGKILL", "SIGSEGV", "segfault"], argvalues=[
    # SIGKILL is what the kernel's OOM killer sends: the wait status says out of memory, not the words.
    (lambda beras: beras.kill_self("SIGKILL"),
     "student.beras.kill_self('SIGKILL') failed: the student process "
     "was killed by SIGKILL (out of memory, or stopped by a limit)",
     FailureKind.OUT_OF_MEMORY),
    (lambda beras: beras.kill_self("SIGSEGV"),
     "student.beras.kill_self('SIGSEGV') failed: the student process "
     "was killed by SIGSEGV (a segmentation fault)", FailureKind.CRASHED),
    (lambda beras: beras.segfault(), "student.beras.segfault() failed: the student process "
                                     "was killed by SIGSEGV (a segmentation fault)", FailureKind.CRASHED),
])
def test_killed_by_a_signal(session, student, call, words, kind):
    old_pid = student_pid(session)
    thing = student.beras.Thing(1)
    failure, took = timed(lambda: call(student.beras))
    assert took < 1.0
    assert failure.kind is kind
    assert str(failure) == words
    assert_reaped(old_pid)
    assert fetch(student.beras.add(2, 2)) == 4
    assert student_pid(session) != old_pid
    with pytest.raises(StudentProcessFailed, match="student process that has since stopped") as info:
        thing.get()
    assert info.value.kind is kind  # the object was lost to the same cause


def test_a_process_that_dies_between_calls(session, student):
    thing = student.beras.Thing(1)
    old_pid = student_pid(session)
    student.beras.exit_later(0.1, 7)
    assert wait_gone(old_pid), "the student's thread did not end the process"
    failure, _ = timed(lambda: thing.get())
    # Found before the call, or (if the pipe closed a moment after the process showed as gone) by
    # the release of unused objects that goes first.
    assert re.fullmatch(
        r"student\.beras\.Thing\(1\)\.get refers to an object of a student process that has since stopped "
        r"\(after: (the student process exited with status 7 between calls|freeing unused student objects "
        r"failed: the student process exited with status 7)\)", str(failure)), str(failure)
    assert_reaped(old_pid)
    assert fetch(student.beras.add(1, 1)) == 2  # and it is not an import that failed
    assert fetch(student.beras.add(2, 2)) == 4


def test_an_exit_leaves_no_child_behind(session, student):
    old_pid = student_pid(session)
    sleeper = fetch(student.beras.spawn_sleeper())
    with pytest.raises(StudentProcessFailed, match="exited with status 0"):
        student.beras.exit_os(0)
    assert_reaped(old_pid)
    assert wait_gone(sleeper), "the student's child outlived its process"


def test_close_stops_the_process(open_session):
    session = open_session()
    pid = student_pid(session)
    session.transport.close()
    assert_reaped(pid)


# ---------------------------------------------------------------------------- memory


def test_a_memory_bomb_under_the_limit(open_session, monkeypatch):
    # many cores: many thread stacks under the address-space limit
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    session = open_session(limits=ProcessLimits(memory_mb=512))
    beras = session.root().beras
    assert fetch(beras.allocate(2**20)) == 2**20
    with pytest.raises(StudentError) as info:
        beras.allocate(2**30)
    assert info.value.type_name == "MemoryError"
    try:
        beras.grow_forever()
    except StudentProcessFailed as failure:  # killed instead of raising: acceptable
        assert failure.kind in (FailureKind.CRASHED, FailureKind.OUT_OF_MEMORY)
    except StudentError as error:
        assert error.type_name in ("MemoryError", "_ArrayMemoryError")  # numpy's subclass of MemoryError
    else:
        pytest.fail("grow_forever() returned")
    assert fetch(session.root().beras.add(1, 2)) == 3


# ---------------------------------------------------------------------------- protocol violations


@pytest.mark.parametrize(("kind", "detail"), [
    ("text", "over the 8-byte cap"),
    ("short", "something other than the reply to request"),
    ("frame", "something other than the reply to request"),
    ("huge", "a message of 1099511627776 bytes is over the 8-byte cap"),
    ("wrong-reply", "something other than the reply to request"),
    ("forged-huge", f"a message of 1099511627776 bytes is over the {codec.MAX_MESSAGE_BYTES}-byte cap"),
])
def test_writing_to_the_reply_pipe_breaks_the_protocol(session, student, kind, detail):
    old_pid = student_pid(session)
    thing = student.beras.Thing(1)
    failure, took = timed(lambda: student.beras.write_reply_fd(kind))
    assert took < 1.0
    assert failure.kind == "protocol"
    assert str(failure).startswith(f"student.beras.write_reply_fd('{kind}') broke the protocol (")
    assert detail in str(failure)
    assert_reaped(old_pid)
    for value in range(3):  # the next calls are answered in step, by a fresh process
        assert fetch(student.beras.add(value, 1)) == value + 1
    assert student_pid(session) != old_pid
    with pytest.raises(StudentProcessFailed, match="student process that has since stopped"):
        thing.get()


@pytest.mark.parametrize("kind", ["forged-bad-json", "forged-not-codec"])
def test_a_well_framed_malformed_reply_restarts_the_process(session, student, kind):
    # The student forges the reply number, so the framing accepts its bytes; the codec does not.
    old_pid = student_pid(session)
    thing = student.beras.Thing(1)
    failure, took = timed(lambda: student.beras.write_reply_fd(kind))
    assert took < 1.0
    assert failure.kind == "protocol"
    assert str(failure).startswith(f"student.beras.write_reply_fd('{kind}') sent a malformed reply "
                                   "(malformed message")
    assert_reaped(old_pid)  # the server's own reply is still in the pipe: the process must go
    for value in range(3):
        assert fetch(student.beras.add(value, 1)) == value + 1
    assert student_pid(session) != old_pid
    with pytest.raises(StudentProcessFailed,
                       match=r"has since stopped \(after: student.beras.write_reply_fd"):
        thing.get()


def test_paused_stops_the_student_and_its_children_for_the_block(session, student):
    child = fetch(student.beras.spawn_sleeper())
    pid = student_pid(session)
    with session.transport.paused():
        assert reaches_state(pid, "T") and reaches_state(child, "T")
    assert reaches_state(pid, "SR") and reaches_state(child, "SR")
    assert fetch(student.beras.add(1, 2)) == 3  # and it serves again


def test_paused_before_any_process_started_does_nothing(open_session):
    transport = open_session().transport
    with transport.paused():
        pass
    assert transport.generation == 0


# ---------------------------------------------------------------------------- the plugin


def test_plugin_student_process_options(pytester, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    submission = write_package(pytester.path / "submission", PROCESS_SUBMISSION)
    log = pytester.path / "student.log"
    pytester.makepyfile(test_student="""
        import os

        import pytest

        from grader.harness import StudentError, fetch

        def test_before(student):
            assert fetch(student.beras.add(40, 2)) == 42
            with open("student.pid", "w") as file:
                file.write(str(fetch(student.beras.pid())))

        def test_hangs(student):
            student.beras.sleep_forever_deaf()

        def test_after(student):
            assert fetch(student.beras.add(1, 2)) == 3
            assert fetch(student.beras.pid()) != int(open("student.pid").read())
            with open("student.pid", "w") as file:
                file.write(str(fetch(student.beras.pid())))

        def test_memory_limit(student):
            with pytest.raises(StudentError) as info:
                student.beras.allocate(3 * 2**28)
            assert info.value.type_name == "MemoryError"
            assert fetch(student.beras.chatty(3)) == 3
    """)
    result = pytester.runpytest("-p", "grader.harness.plugin", "--submission", str(submission),
                                "--student-process",
                                "--call-timeout", "1", "--student-memory-mb", "512", "--student-log",
                                str(log))
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*student.beras.sleep_forever_deaf() did not finish within 1 s "
                                 "(the per-call time limit)*"])
    assert "beras: imported" in log.read_text(errors="replace")
    assert "chatty: done" in log.read_text(errors="replace")
    assert_reaped(int((pytester.path / "student.pid").read_text()))  # stopped at the end of the run


def test_plugin_pause_student_stops_the_student_process(pytester, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    submission = write_package(pytester.path / "submission", PROCESS_SUBMISSION)
    pytester.makepyfile(test_pause="""
        from grader.harness import fetch
        from tests.harness.test_process import process_state, reaches_state

        def test_paused(student, pause_student):
            pid = fetch(student.beras.pid())
            with pause_student():
                assert reaches_state(pid, "T")
            assert reaches_state(pid, "SR") and fetch(student.beras.add(1, 2)) == 3
    """)
    result = pytester.runpytest("-p", "grader.harness.plugin", "--submission", str(submission),
                                "--student-process")
    result.assert_outcomes(passed=1)
