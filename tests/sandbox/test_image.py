"""The grading environment's build checks what it made, and the launcher reads versions without importing
numpy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grader import environment
from worker.sandbox import SandboxUnavailable
from worker.sandbox import image as image_module


def _found(**changes) -> dict:
    wheels = {name.lower(): version for name, version in environment.WHEELS.items()}
    found = {"python": environment.PYTHON, "wheels": {**wheels, "pip": "23.0.1"}}
    for name, version in changes.items():
        if name == "python":
            found["python"] = version
        elif version is None:
            found["wheels"].pop(name)
        else:
            found["wheels"][name] = version
    return found


def test_a_tree_with_the_declared_versions_passes():
    image_module._check(_found())  # extra distributions (Debian's own) are no difference


@pytest.mark.parametrize("changes, named", [
    ({"numpy": "1.24.2"}, "numpy 1.24.2 (declared"),
    ({"python": "3.11.9"}, "python 3.11.9 (declared"),
    ({"scipy": None}, "scipy missing (declared"),
])
def test_a_tree_that_differs_from_the_declaration_is_refused(changes, named):
    with pytest.raises(SandboxUnavailable) as refused:
        image_module._check(_found(**changes))
    assert named in str(refused.value) and "grader/environment.py" in str(refused.value)


def test_the_rootfs_is_found_by_the_environments_digest(tmp_path):
    assert image_module.rootfs_dir(tmp_path) == tmp_path / environment.digest() / "rootfs"
    assert not image_module.rootfs_ready(tmp_path)
    (tmp_path / environment.digest() / "rootfs").mkdir(parents=True)
    assert not image_module.rootfs_ready(tmp_path)  # a tree without its manifest was never checked
    (tmp_path / environment.digest() / image_module.MANIFEST).write_text("{}")
    assert image_module.rootfs_ready(tmp_path)


def test_the_launcher_reads_the_versions_without_importing_numpy():
    code = ("import json, sys; from grader.harness.launcher import environment; "
            "print(json.dumps([environment(), 'numpy' in sys.modules]))")
    seen, imported = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True).stdout)
    import numpy
    import pytest as pytest_module

    assert seen == {"python": ".".join(map(str, sys.version_info[:3])), "numpy": numpy.__version__,
                    "pytest": pytest_module.__version__}
    assert imported is False
