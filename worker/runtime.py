"""WorkerRuntime: the control plane's Runtime plus the sandbox, for the processes that grade."""

from __future__ import annotations

import threading

from grader.runtime import Runtime
from grader.settings import GpuMode, Settings
from worker.sandbox import Sandbox, choose_sandbox

_UNCHECKED = object()


class WorkerRuntime(Runtime):
    """A Runtime that can grade: the configured sandbox backend, chosen on first use."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()
        self._gpu_missing: object = _UNCHECKED
        self._gpu_lock = threading.Lock()

    @property
    def chosen_sandbox(self) -> Sandbox | None:
        """The sandbox once one was chosen, else None (the health check reports it without choosing one)."""
        return self._sandbox

    def sandbox(self) -> Sandbox:
        """The configured sandbox backend, checked once.

        Raises:
            SandboxUnavailable: it cannot run here.
        """
        with self._sandbox_lock:
            if self._sandbox is None:
                self._sandbox = choose_sandbox(self.settings.sandbox)
            return self._sandbox

    @property
    def gpu_checked(self) -> bool:
        """Whether ``gpu_missing`` has answered in this process (the health check reports it only then)."""
        return self._gpu_missing is not _UNCHECKED

    def gpu_missing(self) -> str | None:
        """Why this worker cannot give a job's sandbox a GPU, or None when it can; decided once per process.

        ``GRADER_GPU`` says how: ``auto`` asks the sandbox backend (a probe), ``yes`` and ``no`` are taken as
        declared.

        Raises:
            SandboxUnavailable: no sandbox can run here (``auto`` only).
        """
        with self._gpu_lock:
            if self._gpu_missing is _UNCHECKED:
                mode = self.settings.gpu
                if mode == GpuMode.AUTO:
                    self._gpu_missing = self.sandbox().gpu_missing()
                else:
                    self._gpu_missing = (None if mode == GpuMode.YES
                                         else "this worker is declared to have no GPU (GRADER_GPU=no)")
            return self._gpu_missing  # type: ignore[return-value]
