"""The sandbox's root file system: the declared environment (``grader.environment``), built once for all.

``build_rootfs`` debootstraps Debian with the declared packages, installs the pinned wheels into
it and checks what it made against the declaration; it keeps the tree under
``ROOTFS_BASE/<digest>/rootfs`` (read-only to everyone but root), where the ``local`` backend
runs it with bubblewrap. ``import_image`` packs the same tree into Docker as
``beras-grader-sandbox:<digest>`` for the ``docker`` backend. Both backends therefore run the same
files, byte for byte; no registry is needed (Debian's mirror and PyPI only).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from grader import environment
from worker.sandbox.base import SandboxUnavailable

REPOSITORY = environment.REPOSITORY
SUITE = environment.DEBIAN_SUITE
MIRROR = "http://deb.debian.org/debian"
# Machine-wide, so that every worker of this machine (and both backends) share one build.
ROOTFS_BASE = Path("/var/lib/beras-grader/sandbox")
MANIFEST = "environment.json"
# Mount points the sandboxes put their folders on (a read-only root cannot grow them later).
MOUNT_POINTS = ("work", "job", "out", "tmp", "proc", "dev", "sys")
# Removed after installing: caches and documentation only, nothing a program loads.
_PRUNED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
           "usr/share/locale")
# The machines wheels are installed for, and the glibc of the Debian release (bookworm: 2.36).
_MACHINES = ("x86_64", "aarch64")
_GLIBC_MINOR = 36
# Run inside the new root file system: what it really holds, read without importing numpy.
_PROBE = """
import json, platform, sys
from importlib import metadata
import numpy, pytest, sklearn.datasets  # each must import, not just be present
print(json.dumps({"python": platform.python_version(),
                  "wheels": {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}}))
"""


def image_tag() -> str:
    """``beras-grader-sandbox:<digest>``: a hash of the whole declared environment."""
    return environment.image_tag()


def rootfs_dir(base: Path = ROOTFS_BASE) -> Path:
    """Where the current environment's root file system lives (whether built or not)."""
    return base / environment.digest() / "rootfs"


def rootfs_ready(base: Path = ROOTFS_BASE) -> bool:
    """Whether this environment's root file system is built and checked (its manifest is written last)."""
    return (rootfs_dir(base).parent / MANIFEST).is_file()


def _site_packages(root: Path) -> Path:
    major, minor = environment.PYTHON.split(".")[:2]
    return root / "usr" / "local" / "lib" / f"python{major}.{minor}" / "dist-packages"


def build_rootfs(*, mirror: str = MIRROR, base: Path = ROOTFS_BASE, force: bool = False, log=print) -> Path:
    """Debootstrap the declared Debian, install the pinned wheels, check the result; return the root's path.

    Built beside its final place and renamed there only once checked, so a half-built tree is never used.
    Needs root (debootstrap, chroot), a Debian mirror and PyPI. ``force`` replaces a built tree of the same
    environment: not while workers of this machine grade on it.

    Raises:
        SandboxUnavailable: not root, debootstrap missing, or a step failed (the message says which).
    """
    if os.geteuid() != 0:
        raise SandboxUnavailable("building the sandbox's root file system needs root (debootstrap): run "
                                 "`beras-grader image build` as root")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise SandboxUnavailable("debootstrap is not installed: apt-get install debootstrap")
    machine = platform.machine()
    if machine not in _MACHINES:
        raise SandboxUnavailable(f"no wheel platform known for this machine ({machine}); expected one of "
                                 f"{', '.join(_MACHINES)}")
    final = rootfs_dir(base).parent
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=base))
    try:
        root = scratch / "rootfs"
        log(f"debootstrap {SUITE} with {', '.join(environment.DEBIAN_PACKAGES)} ...")
        _run([debootstrap, "--variant=minbase", f"--include={','.join(environment.DEBIAN_PACKAGES)}", SUITE,
              str(root), mirror], "debootstrap")
        for rel in _PRUNED:
            shutil.rmtree(root / rel, ignore_errors=True)
        log(f"installing {', '.join(environment.requirements())} ...")
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
              "--no-deps", "--only-binary=:all:", *_platforms(machine), "--implementation", "cp",
              "--python-version", environment.PYTHON, "--target", str(_site_packages(root)),
              *environment.requirements()], "pip install")
        # Console scripts whose first line names the worker's Python: nothing in the sandbox runs them.
        shutil.rmtree(_site_packages(root) / "bin", ignore_errors=True)
        for name in MOUNT_POINTS:
            (root / name).mkdir(exist_ok=True)
        found = _probe(root)
        _check(found)
        manifest = {"image": image_tag(), "declared": environment.declaration(), "found": found}
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        scratch.chmod(0o755)
        if (final / MANIFEST).is_file() and not force:
            # Another build of the same environment finished first (two workers starting at once): keep it,
            # since jobs may already run on it.
            _remove(scratch)
            return final / "rootfs"
        if final.exists():  # an unchecked leftover, or a forced rebuild: moved aside first, then removed
            stale = Path(tempfile.mkdtemp(prefix=f".{final.name}.stale-", dir=base))
            final.rename(stale / "tree")
            _remove(stale)
        scratch.rename(final)
    except BaseException:
        _remove(scratch)
        raise
    log(f"root file system of {image_tag()} at {final / 'rootfs'}")
    return final / "rootfs"


def _platforms(machine: str) -> list[str]:
    """``--platform`` for every manylinux tag the Debian release's glibc runs (pip does not widen one tag)."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(_GLIBC_MINOR, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    return [arg for tag in tags for arg in ("--platform", tag)]


def _remove(scratch: Path) -> None:
    """Remove a failed build, unless something is mounted in it (debootstrap's /proc): never delete across."""
    inside = str(scratch) + "/"
    try:
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    except OSError:
        mounts = []
    if not any(mount.startswith(inside) for mount in mounts):
        shutil.rmtree(scratch, ignore_errors=True)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxUnavailable(f"{what} failed (exit {done.returncode}): "
                                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _probe(root: Path) -> dict:
    """The Python version and installed distributions inside ``root``, from its own python3."""
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    done = subprocess.run([chroot, str(root), "/usr/bin/python3", "-I", "-c", _PROBE], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if done.returncode != 0:
        raise SandboxUnavailable(f"the new root file system's python3 cannot import its libraries: "
                                 f"{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _check(found: dict) -> None:
    """Refuse a root file system that is not exactly the declared environment."""
    wrong = ([f"python {found['python']} (declared {environment.PYTHON})"]
             if found["python"] != environment.PYTHON else [])
    for name, version in environment.WHEELS.items():
        if found["wheels"].get(name) != version:
            wrong.append(f"{name} {found['wheels'].get(name, 'missing')} (declared {version})")
    if wrong:
        raise SandboxUnavailable("the built root file system differs from grader/environment.py: "
                                 + "; ".join(wrong)
                                 + ". Change the declaration (for Python: to what Debian's python3 now is).")


def import_image(client, *, base: Path = ROOTFS_BASE, log=print) -> str:
    """Pack the built root file system into Docker as ``image_tag()``; return the tag.

    Raises:
        SandboxUnavailable: the root file system is not built.
    """
    if not rootfs_ready(base):
        raise SandboxUnavailable(f"no root file system for {image_tag()} at {rootfs_dir(base)}: run "
                                 "`beras-grader image build`")
    tag = image_tag()
    with tempfile.TemporaryDirectory(prefix="beras-image-") as scratch:
        archive = Path(scratch) / "rootfs.tar"
        log("packing the root file system ...")
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs_dir(base), arcname=".")
        log(f"docker import as {tag} ...")
        repository, version = tag.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version,
                                          changes=["WORKDIR /work", "ENV LANG=C.UTF-8"])
    return tag


def build_image(client, *, mirror: str = MIRROR, base: Path = ROOTFS_BASE, log=print) -> str:
    """The root file system (built when missing) imported into Docker; return the tag."""
    if not rootfs_ready(base):
        build_rootfs(mirror=mirror, base=base, log=log)
    return import_image(client, base=base, log=log)


def dockerfile() -> str:
    """A Dockerfile of the same environment, for production hosts that can pull ``debian:<suite>-slim``.

    Generated from the declaration, so it cannot drift from it; its image holds the same versions
    (checked as the build's last step) though not the same bytes as ``build_rootfs``'s tree.
    """
    site = _site_packages(Path("/")).as_posix()
    checks = "; ".join(f"assert metadata.version({name!r}) == {version!r}, {name!r}"
                       for name, version in sorted(environment.WHEELS.items()))
    return (f"# Generated by `beras-grader image dockerfile` from grader/environment.py ({image_tag()}); "
            "do not edit.\n"
            f"""# Build: docker build -t {image_tag()} <this folder>
FROM debian:{SUITE}-slim
RUN apt-get update \\
 && apt-get install -y --no-install-recommends {' '.join(environment.DEBIAN_PACKAGES)} python3-pip \\
 && python3 -m pip install --no-cache-dir --no-deps --only-binary=:all: --target {site} \\
    {' '.join(environment.requirements())} \\
 && apt-get purge -y python3-pip && apt-get autoremove -y \\
 && rm -rf /var/lib/apt/lists/* {' '.join('/' + rel for rel in _PRUNED if rel.startswith('usr/'))} \\
 && python3 -I -c "import platform; from importlib import metadata; \\
assert platform.python_version() == {environment.PYTHON!r}, platform.python_version(); {checks}" \\
 && mkdir -p {' '.join('/' + name for name in ('work', 'job', 'out'))}
WORKDIR /work
ENV LANG=C.UTF-8
""")


def image_exists(client, tag: str | None = None) -> bool:
    import docker.errors

    try:
        client.images.get(tag or image_tag())
        return True
    except docker.errors.ImageNotFound:
        return False
