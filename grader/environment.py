"""The grading environment: the one declaration of the Python and libraries that student code and the judge
run on.

Every sandbox backend runs this environment and nothing else: ``beras-grader image build``
debootstraps ``DEBIAN_SUITE`` with ``DEBIAN_PACKAGES`` (which bring ``PYTHON``), installs exactly
``WHEELS`` into it, and both the ``docker`` backend (the root file system imported as an image)
and the ``local`` backend (bubblewrap over the same root file system) run it. The starter's
README tells students the same versions. To change the environment, change this file: the
image's tag is a hash of all of it, so the next ``image build`` makes a new root file system and
a worker refuses to grade until it exists.

Lives in ``grader`` (not ``worker``) because the release reads it for the starter's README, and
the control plane never imports the data plane.
"""

from __future__ import annotations

import hashlib
import json

from grader.harness.launcher import RECORDED  # what a result records, read inside the sandbox by the launcher

# Debian's own python3 of this release: the interpreter in the sandbox, on every backend.
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3",)
PYTHON = "3.11.2"  # what bookworm's python3 is; the build refuses a root file system whose python3 differs
# The libraries, as wheels from PyPI (cp311 manylinux), with their whole dependency closure pinned:
# the build installs exactly these (``--no-deps``), so nothing is resolved at build time.
# numpy >= 1.26 is the project's own floor; scikit-learn gives beras.data its digits data set.
WHEELS = {
    "numpy": "2.4.6",
    "pytest": "9.2.0",
    "iniconfig": "2.3.1",
    "packaging": "26.3",
    "pluggy": "1.7.0",
    "pygments": "2.21.0",
    "scikit-learn": "1.9.1",
    "scipy": "1.17.1",
    "joblib": "1.6.0",
    "cloudpickle": "3.1.3",
    "threadpoolctl": "3.8.0",
    "narwhals": "2.29.0",
}
REPOSITORY = "beras-grader-sandbox"


def declaration() -> dict:
    """The whole declared environment as plain data (what the tag hashes)."""
    return {"debian_suite": DEBIAN_SUITE, "debian_packages": list(DEBIAN_PACKAGES), "python": PYTHON,
            "wheels": dict(sorted(WHEELS.items()))}


def digest() -> str:
    """12 hex digits of the SHA-256 of ``declaration()``: changes with any package or version."""
    return hashlib.sha256(json.dumps(declaration(), sort_keys=True).encode()).hexdigest()[:12]


def image_tag() -> str:
    """``beras-grader-sandbox:<digest>``: the name of this environment, on every backend."""
    return f"{REPOSITORY}:{digest()}"


def requirements() -> list[str]:
    """``name==version`` for every wheel, sorted."""
    return [f"{name}=={version}" for name, version in sorted(WHEELS.items())]


def expected(image: str | None = None) -> dict:
    """What a result's ``environment`` holds when it ran in this environment (backend aside)."""
    return {"image": image or image_tag(), "python": PYTHON, **{name: WHEELS[name] for name in RECORDED}}
