"""The local sandbox's seccomp filter: its verdicts on both arches (read by a BPF interpreter), and on this
kernel."""

from __future__ import annotations

import errno
import json
import struct
import subprocess
import sys
import textwrap

import pytest

from worker.sandbox import seccomp
from worker.sandbox.seccomp import AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, CHECKED, DENIED

ALLOW = seccomp.RET_ALLOW
EPERM = seccomp.RET_ERRNO | errno.EPERM
ENOSYS = seccomp.RET_ERRNO | errno.ENOSYS
KILL = seccomp.RET_KILL_PROCESS
AUDIT_ARCH_I386 = 0x40000003
COLUMN = {AUDIT_ARCH_X86_64: 0, AUDIT_ARCH_AARCH64: 1}
ORDINARY = {"read": (0, 63), "write": (1, 64), "openat": (257, 56), "mmap": (9, 222), "exit_group": (231, 94),
            "setuid": (105, 146), "pidfd_open": (434, 434), "wait4": (61, 260)}
# what pthread_create passes: VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, TLS, ...
CLONE_THREAD_FLAGS = 0x003D0F00


def run_filter(program: bytes, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """What the kernel would answer: classic BPF over ``struct seccomp_data``, the handful of opcodes used."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x} at {pc}")


@pytest.fixture(scope="module")
def program() -> bytes:
    return seccomp.filter_bytes()


@pytest.mark.parametrize("arch", [AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64], ids=["x86_64", "aarch64"])
def test_verdicts_on_both_arches(program, arch):
    column = COLUMN[arch]
    for name, numbers in DENIED.items():
        assert run_filter(program, arch, numbers[column]) == EPERM, name
    for name, numbers in ORDINARY.items():
        assert run_filter(program, arch, numbers[column]) == ALLOW, name
    clone, fcntl, clone3 = (CHECKED[name][column] for name in ("clone", "fcntl", "clone3"))
    assert run_filter(program, arch, clone3) == ENOSYS  # libc falls back to clone, whose flags can be read
    assert run_filter(program, arch, clone, (CLONE_THREAD_FLAGS,)) == ALLOW
    assert run_filter(program, arch, clone, (17,)) == ALLOW  # fork: SIGCHLD only
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):
        assert run_filter(program, arch, clone, (17 | flag,)) == EPERM, hex(flag)
    for cmd in seccomp.FCNTL_DENIED:
        assert run_filter(program, arch, fcntl, (3, cmd)) == EPERM, cmd
        # the kernel ignores the high word
        assert run_filter(program, arch, fcntl, (3, cmd | 1 << 32)) == EPERM, cmd
    for cmd in (0, 1, 2, 3, 4, 1030):  # F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC
        assert run_filter(program, arch, fcntl, (3, cmd)) == ALLOW, cmd


def test_other_arches_and_x32_are_killed(program):
    assert run_filter(program, AUDIT_ARCH_I386, 3) == KILL  # int 0x80 from a 64-bit process
    assert run_filter(program, 0xC00000F3, 0) == KILL  # riscv64: another table
    assert run_filter(program, AUDIT_ARCH_X86_64, seccomp.X32_SYSCALL_BIT | 0) == KILL


def test_assembler_refuses_a_jump_it_cannot_encode():
    far = [seccomp._Insn(seccomp._JEQ_K, 1, jt="end")] + [seccomp._ret(seccomp.RET_ALLOW)] * 300 + \
        [seccomp._ret(seccomp.RET_ALLOW, "end")]
    with pytest.raises(ValueError, match="300 instructions away"):
        seccomp.assemble(far)


# Installs the filter on itself (no_new_privs first, as bubblewrap does), then reports what each call gave.
_UNDER_FILTER = textwrap.dedent("""
    import ctypes, errno, fcntl, json, os, struct, subprocess, sys, tempfile, threading
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    program = sys.stdin.buffer.read()
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) == 0, ctypes.get_errno()  # SECCOMP_MODE_FILTER
    numbers = json.loads(sys.argv[1])
    seen = {}

    def call(name, *args):
        result = libc.syscall(ctypes.c_long(numbers[name]), *[ctypes.c_long(a) for a in args])
        return errno.errorcode[ctypes.get_errno()] if result < 0 else "ok"

    def attempt(name, action):
        try:
            action()
            seen[name] = "ok"
        except OSError as error:
            seen[name] = type(error).__name__

    seen["unshare(NEWUSER)"] = call("unshare", 0x10000000)
    seen["setns"] = call("setns", 0, 0)
    seen["clone3"] = call("clone3", 0, 0)
    seen["keyctl"] = call("keyctl", 0, -3, 0)
    seen["add_key"] = libc.syscall(ctypes.c_long(numbers["add_key"]), b"user", b"k", b"v", ctypes.c_long(1),
                                   ctypes.c_long(-3)) >= 0 or errno.errorcode[ctypes.get_errno()]
    pid = call("clone", 0x10000000 | 17, 0, 0, 0, 0)  # fork into a new user namespace
    seen["clone(NEWUSER)"] = pid
    shared = open(os.__file__, "rb")
    attempt("flock", lambda: fcntl.flock(shared, fcntl.LOCK_SH))
    attempt("lockf", lambda: fcntl.lockf(shared, fcntl.LOCK_SH))
    attempt("F_GETLK",
            lambda: fcntl.fcntl(shared, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)))
    attempt("F_OFD_SETLK", lambda: fcntl.fcntl(shared, 37, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0)))
    watched = libc.inotify_add_watch(libc.inotify_init1(0), os.__file__.encode(), 1)  # IN_ACCESS
    seen["inotify"] = "ok" if watched >= 0 else errno.errorcode[ctypes.get_errno()]
    # What the harness itself does: threads (clone, or clone3 then clone), subprocess, fork, non-blocking
    # pipes.
    box = []
    thread = threading.Thread(target=lambda: box.append(1))
    thread.start()
    thread.join()
    seen["thread"] = "ok" if box else "failed"
    seen["subprocess"] = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True,
                                        text=True).stdout.strip()
    child = os.fork()
    if child == 0:
        os._exit(5)
    seen["fork"] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    read_end, _ = os.pipe()
    os.set_blocking(read_end, False)
    seen["F_SETFL"] = "ok" if not os.get_blocking(read_end) else "failed"
    import numpy
    seen["numpy"] = float((numpy.ones((64, 64)) @ numpy.ones((64, 64)))[0, 0])
    print(json.dumps(seen))
""")


def test_the_filter_on_this_kernel():
    """Denied calls fail with EPERM (a clean PermissionError in Python); what the harness needs still
    works."""
    arch = seccomp.machine()
    if arch is None or not seccomp.kernel_supports_seccomp():
        pytest.fail(f"this test needs an x86_64 or aarch64 kernel with seccomp; this is {arch!r}")
    numbers = {name: seccomp.syscall_number(name)
               for name in ("unshare", "setns", "clone3", "keyctl", "add_key",
                                                                 "clone")}
    run = subprocess.run([sys.executable, "-c", _UNDER_FILTER, json.dumps(numbers)],
                         input=seccomp.filter_bytes(), capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    seen = json.loads(run.stdout)
    assert seen == {
        "unshare(NEWUSER)": "EPERM", "setns": "EPERM", "clone3": "ENOSYS", "keyctl": "EPERM",
        "add_key": "EPERM",
        "clone(NEWUSER)": "EPERM", "flock": "PermissionError", "lockf": "PermissionError",
        "F_GETLK": "PermissionError", "F_OFD_SETLK": "PermissionError", "inotify": "EPERM",
        "thread": "ok", "subprocess": "42", "fork": 5, "F_SETFL": "ok", "numpy": 64.0,
    }
