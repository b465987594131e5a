"""The sandbox image: built from Debian packages with no registry (debootstrap + docker import), tagged by content."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

from worker.sandbox.base import SandboxUnavailable

REPOSITORY = "beras-grader-sandbox"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Removed after installing: caches and documentation only, nothing a program loads.
_PRUNED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
           "usr/share/locale")


def packages_file() -> str:
    return (Path(__file__).resolve().parent.parent / "images" / "sandbox" / "packages.txt").read_text()


def packages() -> list[str]:
    return [line.strip() for line in packages_file().splitlines() if line.strip() and not line.startswith("#")]


def image_tag() -> str:
    """``beras-grader-sandbox:<hash>``: the hash of the package list and the Debian release that made it."""
    digest = hashlib.sha256(f"{SUITE}\n{packages_file()}".encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{digest}"


def build_image(client, *, mirror: str = MIRROR, log=print) -> str:
    """Debootstrap a minimal Debian with ``packages()`` and import it into Docker; return the tag.

    Needs root (debootstrap) and a reachable Debian mirror; nothing is pulled from a registry.

    Raises:
        SandboxUnavailable: debootstrap is missing or failed.
    """
    tag = image_tag()
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise SandboxUnavailable("debootstrap is not installed: apt-get install debootstrap")
    with tempfile.TemporaryDirectory(prefix="beras-image-") as scratch:
        root = Path(scratch) / "root"
        log(f"debootstrap {SUITE} with {', '.join(packages())} ...")
        done = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={','.join(packages())}", SUITE, str(root), mirror],
            capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxUnavailable(f"debootstrap failed (exit {done.returncode}): {done.stdout[-2000:]}"
                                     f"{done.stderr[-2000:]}")
        for rel in _PRUNED:
            shutil.rmtree(root / rel, ignore_errors=True)
        (root / "work").mkdir(exist_ok=True)
        archive = Path(scratch) / "rootfs.tar"
        log("packing the root file system ...")
        with tarfile.open(archive, "w") as tar:
            tar.add(root, arcname=".")
        log(f"docker import as {tag} ...")
        repository, version = tag.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version,
                                          changes=["WORKDIR /work", "ENV LANG=C.UTF-8"])
    return tag


def image_exists(client, tag: str | None = None) -> bool:
    import docker.errors

    try:
        client.images.get(tag or image_tag())
        return True
    except docker.errors.ImageNotFound:
        return False
