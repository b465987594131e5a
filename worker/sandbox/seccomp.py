"""The local sandbox's syscall filter: a classic-BPF seccomp program for ``bwrap --seccomp FD``.

A deny list on top of what bubblewrap and the dropped capabilities already refuse, aimed at
what opens a channel between jobs or a way out of the sandbox: new namespaces (``unshare``,
``setns``, ``clone`` with a namespace flag; ``clone3`` answers ENOSYS so that libc falls back
to ``clone``, whose flags a filter can read, as Docker's profile does), the kernel keyrings,
file locks and file-access notifications (they are shared through the read-only binds of
``/usr``), mounts, bpf, perf events, userfaultfd, io_uring (its operations bypass seccomp),
and reaching into other processes (ptrace, process_vm_*, kcmp, pidfd_getfd). Denied calls fail
with EPERM, so Python raises a clean ``PermissionError`` and the test that made them fails like
any other. Anything that is not x86_64 or aarch64 (x32 and i386 calls from a 64-bit process
included) kills the process: the numbers below would mean other calls there.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct
from dataclasses import dataclass

# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH = 0, 4
_ARG_LOW = [16 + 8 * i for i in range(6)]  # the low 32 bits of each argument (little-endian arches only)

# Classic BPF opcodes (linux/filter.h): load a word, compare with a constant, return a constant.
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

AUDIT_ARCH_X86_64 = 0xC000003E  # EM_X86_64 | 64-bit | little-endian
AUDIT_ARCH_AARCH64 = 0xC00000B7  # EM_AARCH64 | 64-bit | little-endian
X32_SYSCALL_BIT = 0x40000000  # x32 calls come with the x86_64 arch and this bit set in nr

# Every namespace flag clone() takes (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET);
# CLONE_NEWTIME is 0x80, which clone() reads as part of the exit signal, so only unshare/clone3 take it.
CLONE_NAMESPACES = 0x7E020000

# fcntl commands that take, test or watch something another job can see on a shared file.
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
FCNTL_DENIED = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE,
                F_NOTIFY)

# Denied outright, with EPERM. Numbers from asm/unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
DENIED = {
    #                      x86_64  aarch64
    "unshare":             (272, 97),
    "setns":               (308, 268),
    "keyctl":              (250, 219),
    "add_key":             (248, 217),
    "request_key":         (249, 218),
    "flock":               (73, 32),
    "inotify_add_watch":   (254, 27),
    "fanotify_init":       (300, 262),
    "fanotify_mark":       (301, 263),
    "mount":               (165, 40),
    "umount2":             (166, 39),
    "pivot_root":          (155, 41),
    "chroot":              (161, 51),
    "open_tree":           (428, 428),
    "move_mount":          (429, 429),
    "fsopen":              (430, 430),
    "fsconfig":            (431, 431),
    "fsmount":             (432, 432),
    "fspick":              (433, 433),
    "mount_setattr":       (442, 442),
    "name_to_handle_at":   (303, 264),
    "open_by_handle_at":   (304, 265),
    "bpf":                 (321, 280),
    "perf_event_open":     (298, 241),
    "userfaultfd":         (323, 282),
    "io_uring_setup":      (425, 425),
    "io_uring_enter":      (426, 426),
    "io_uring_register":   (427, 427),
    "ptrace":              (101, 117),
    "process_vm_readv":    (310, 270),
    "process_vm_writev":   (311, 271),
    "kcmp":                (312, 272),
    "pidfd_getfd":         (438, 438),
}
# Allowed, with a look at their arguments (clone, fcntl) or answered ENOSYS (clone3).
CHECKED = {"clone": (56, 220), "fcntl": (72, 25), "clone3": (435, 435)}

ARCHES = {"x86_64": (AUDIT_ARCH_X86_64, 0), "aarch64": (AUDIT_ARCH_AARCH64, 1)}
_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class _Insn:
    """One instruction; jump targets are labels, resolved to offsets when the program is assembled."""

    code: int
    k: int = 0
    jt: str | None = None
    jf: str | None = None
    label: str | None = None  # this instruction's own label


def _ret(value: int, label: str | None = None) -> _Insn:
    return _Insn(_RET_K, value, label=label)


def _arch_block(arch: str) -> list[_Insn]:
    """The checks for one arch: the call number against the tables, then clone's and fcntl's arguments."""
    audit, column = ARCHES[arch]
    out = [_Insn(_LD_W_ABS, _NR, label=f"{arch}")]
    if arch == "x86_64":
        out.append(_Insn(_JGE_K, X32_SYSCALL_BIT, jt="kill"))  # x32 calls reuse the x86_64 arch
    out.append(_Insn(_JEQ_K, CHECKED["clone"][column], jt=f"{arch}_clone"))
    out.append(_Insn(_JEQ_K, CHECKED["fcntl"][column], jt=f"{arch}_fcntl"))
    out.append(_Insn(_JEQ_K, CHECKED["clone3"][column], jt="enosys"))
    out += [_Insn(_JEQ_K, numbers[column], jt="eperm") for numbers in DENIED.values()]
    out.append(_ret(RET_ALLOW))
    # clone(flags, ...): the flags are the first argument on both arches; the namespace bits are in its low
    # word.
    out.append(_Insn(_LD_W_ABS, _ARG_LOW[0], label=f"{arch}_clone"))
    out.append(_Insn(_JSET_K, CLONE_NAMESPACES, jt="eperm"))
    out.append(_ret(RET_ALLOW))
    # fcntl(fd, cmd, ...): the kernel reads cmd as an unsigned int, so its low word is all there is.
    out.append(_Insn(_LD_W_ABS, _ARG_LOW[1], label=f"{arch}_fcntl"))
    out += [_Insn(_JEQ_K, cmd, jt="eperm") for cmd in FCNTL_DENIED]
    out.append(_ret(RET_ALLOW))
    return out


def _program() -> list[_Insn]:
    """The whole filter: dispatch on the arch, one block per arch, then the shared verdicts."""
    out = [_Insn(_LD_W_ABS, _ARCH)]
    out += [_Insn(_JEQ_K, audit, jt=arch) for arch, (audit, _) in ARCHES.items()]
    out.append(_ret(RET_KILL_PROCESS))  # an arch this table does not know
    for arch in ARCHES:
        out += _arch_block(arch)
    out += [_ret(RET_ERRNO | errno.EPERM, "eperm"), _ret(RET_ERRNO | errno.ENOSYS, "enosys"),
            _ret(RET_KILL_PROCESS, "kill")]
    return out


def assemble(program: list[_Insn]) -> bytes:
    """``struct sock_filter[]`` in the machine's byte order, jumps resolved (BPF jumps only forward)."""
    where = {insn.label: index for index, insn in enumerate(program) if insn.label}
    packed = []
    for index, insn in enumerate(program):
        offsets = []
        for target in (insn.jt, insn.jf):
            offset = 0 if target is None else where[target] - index - 1
            if not 0 <= offset <= 255:
                raise ValueError(f"instruction {index}: jump to {target!r} is {offset} instructions away")
            offsets.append(offset)
        packed.append(struct.pack("=HBBI", insn.code, offsets[0], offsets[1], insn.k))
    return b"".join(packed)


@functools.cache
def filter_bytes() -> bytes:
    """The compiled filter, ready to be written to the file descriptor bubblewrap reads."""
    return assemble(_program())


def machine() -> str | None:
    """This machine's arch as the tables name it, or None when they do not cover it."""
    name = platform.machine().lower()
    name = _MACHINE_ALIASES.get(name, name)
    return name if name in ARCHES else None


def syscall_number(name: str) -> int:
    """The number of ``name`` (one of the tables above) on this machine.

    Raises:
        LookupError: this machine's arch is not x86_64 or aarch64.
    """
    arch = machine()
    if arch is None:
        raise LookupError(f"no syscall table for {platform.machine()!r}; expected x86_64 or aarch64")
    return {**DENIED, **CHECKED}[name][ARCHES[arch][1]]


def kernel_supports_seccomp() -> bool:
    """Whether this kernel has seccomp filters (its ``/proc/self/status`` names a ``Seccomp`` mode)."""
    try:
        with open("/proc/self/status") as status:
            return any(line.startswith("Seccomp:") for line in status)
    except OSError:
        return False
