"""Sandbox backends behind one contract (``base.Sandbox``), chosen by one setting: docker, local or auto."""

from __future__ import annotations

from collections.abc import Callable

from worker.sandbox.base import (
    GpuUnavailable,
    Guarantee,
    Sandbox,
    SandboxLimits,
    SandboxRun,
    SandboxUnavailable,
    Usage,
)

__all__ = ["BACKENDS", "GpuUnavailable", "Guarantee", "Sandbox", "SandboxLimits", "SandboxRun",
           "SandboxUnavailable", "Usage", "choose_sandbox"]


def _docker() -> Sandbox:
    from worker.sandbox.docker import DockerSandbox

    return DockerSandbox()


def _local() -> Sandbox:
    from worker.sandbox.local import LocalSandbox

    return LocalSandbox()


BACKENDS: dict[str, Callable[[], Sandbox]] = {"docker": _docker, "local": _local}


def choose_sandbox(name: str = "auto") -> Sandbox:
    """The backend ``name``, checked; ``auto``: docker if its daemon answers and image is built, else local.

    Raises:
        SandboxUnavailable: the named backend cannot run here (or, for ``auto``, neither can).
    """
    if name != "auto":
        if name not in BACKENDS:
            raise SandboxUnavailable(f"unknown sandbox {name!r}; "
                                     f"expected one of: auto, {', '.join(BACKENDS)}")
        sandbox = BACKENDS[name]()
        sandbox.check()
        return sandbox
    reasons = []
    for candidate in BACKENDS:
        try:
            sandbox = BACKENDS[candidate]()
            sandbox.check()
            return sandbox
        except SandboxUnavailable as why:
            reasons.append(f"{candidate}: {why}")
    raise SandboxUnavailable("no sandbox can run here:\n  " + "\n  ".join(reasons))
