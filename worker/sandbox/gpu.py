"""Whether a sandbox can have a GPU here: the NVIDIA container runtime for Docker, /dev/nvidia* locally."""

from __future__ import annotations

import glob

# What Docker answers when no device driver (the NVIDIA container toolkit's hook) can serve a GPU request.
NO_DRIVER = "could not select device driver"
DOCKER_FIX = ("install the NVIDIA driver and the NVIDIA container toolkit on this machine "
              "(`nvidia-ctk runtime configure --runtime=docker`, then restart dockerd)")
LOCAL_FIX = "install the NVIDIA driver on this machine, so that /dev/nvidia0 and /dev/nvidiactl exist"


def docker_no_runtime(runtimes: list[str], error: str) -> str:
    """The reason a Docker GPU request failed, naming the runtimes the daemon has."""
    have = ", ".join(sorted(runtimes)) or "none listed"
    return (f"Docker has no NVIDIA container runtime (its runtimes: {have}), so a GPU request fails with "
            f"\"{error.strip()}\"; {DOCKER_FIX}")


def nvidia_devices() -> list[str]:
    """This machine's NVIDIA device nodes (``/dev/nvidia0``, ``/dev/nvidiactl``, ``/dev/nvidia-uvm``...)."""
    return sorted(glob.glob("/dev/nvidia*"))


def local_gpu_missing() -> str | None:
    """Why the local sandbox cannot give a job a GPU here (no device nodes), or None."""
    devices = nvidia_devices()
    if "/dev/nvidiactl" in devices and any(name[len("/dev/nvidia"):].isdigit() for name in devices):
        return None
    return f"this machine has no NVIDIA GPU device (no /dev/nvidia0 and /dev/nvidiactl); {LOCAL_FIX}"
