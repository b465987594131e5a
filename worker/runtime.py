"""WorkerRuntime: the control plane's Runtime plus the sandbox, for the processes that grade."""

from __future__ import annotations

import threading

from grader.runtime import Runtime
from grader.settings import Settings
from worker.sandbox import Sandbox, choose_sandbox


class WorkerRuntime(Runtime):
    """A Runtime that can grade: the configured sandbox backend, chosen on first use."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()

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
