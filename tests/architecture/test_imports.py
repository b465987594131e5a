"""The import-graph reader and its rules, on small packages planted in a temporary folder."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.architecture import imports


def _plant(root: Path, files: dict[str, str]) -> list:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    packages = {top: root / top for top in {name.split("/")[0] for name in files}}
    return imports.read_imports(imports.find_modules(packages), root)


def test_a_cycle_hidden_in_a_function_is_reported_with_its_lines(tmp_path):
    edges = _plant(tmp_path, {
        "grader/__init__.py": "",
        "grader/a.py": "import os\nfrom grader import b\n",
        "grader/b.py": "def later():\n    from . import c\n",
        "grader/c.py": "\n\nfrom grader.a import thing\n",
        "grader/d.py": "from grader import a\n",  # imports into the cycle, but is not part of it
    })
    [(group, chain)] = imports.find_cycles(edges)
    assert group == ["grader.a", "grader.b", "grader.c"]
    assert imports.describe_cycle(group, chain).splitlines() == [
        "cycle: grader.a -> grader.b -> grader.c -> grader.a",
        "    grader/a.py:2: grader.a imports grader.b",
        "    grader/b.py:2: grader.b imports grader.c (inside a function)",
        "    grader/c.py:3: grader.c imports grader.a",
    ]


def test_no_cycle_in_a_tree_of_imports(tmp_path):
    edges = _plant(tmp_path, {
        "grader/__init__.py": "from grader import a, b\n",
        "grader/a.py": "from grader.b import thing\nimport numpy\n",
        "grader/b.py": "import os\n",
    })
    assert imports.find_cycles(edges) == []


def test_packages_that_import_each_other_are_a_cycle_even_when_their_modules_are_not(tmp_path):
    edges = _plant(tmp_path, {
        "grader/__init__.py": "",
        "grader/api/__init__.py": "",
        "grader/api/app.py": "from grader.web.pages import router\n",
        "grader/web/__init__.py": "",
        "grader/web/pages.py": "router = None\n",
        "grader/web/login.py": "from grader.api.auth import user\n",
        "grader/api/auth.py": "user = None\n",
    })
    assert imports.find_cycles(edges) == []
    [(group, chain)] = imports.find_cycles(imports.package_edges(edges))
    assert group == ["grader.api", "grader.web"]
    assert [str(edge) for edge in chain] == ["grader/api/app.py:1: grader.api imports grader.web",
                                             "grader/web/login.py:1: grader.web imports grader.api"]


def test_a_cross_plane_import_is_reported_unless_at_a_composition_point(tmp_path):
    edges = _plant(tmp_path, {
        "grader/__init__.py": "",
        "grader/app.py": "from worker.queue import dispatch\n",
        "grader/cli/__init__.py": "",
        "grader/cli/worker.py": "def run():\n    import worker.main\n",
        "grader/service/__init__.py": "",
        "grader/service/submit.py": dedent("""\
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from worker.sandbox import Sandbox
            else:
                from grader import app
            """),
        "grader/service/later.py": "def go():\n    from worker import queue\n",
        # The data plane may import the control plane.
        "worker/__init__.py": "from grader.service import submit\n",
        "worker/queue.py": "",
        "worker/main.py": "",
        "worker/sandbox.py": "",
    })
    crossing = imports.cross_plane_imports(edges, ("grader.app", "grader.cli", "grader.demo"))
    assert [str(edge) for edge in crossing] == [
        "grader/service/later.py:2: grader.service.later imports worker.queue (inside a function)",
        "grader/service/submit.py:4: grader.service.submit imports worker.sandbox (under TYPE_CHECKING)",
    ]


def test_the_harness_may_import_only_stdlib_numpy_pytest_and_itself(tmp_path):
    edges = _plant(tmp_path, {
        "grader/__init__.py": "",
        "grader/settings.py": "",
        "grader/harness/__init__.py": "from . import codec\nfrom .codec import json\n",
        "grader/harness/codec.py": "import json\nimport numpy as np\nfrom _pytest import nodes\n",
        "grader/harness/plugin.py": dedent("""\
            from __future__ import annotations
            import os.path
            import pytest
            from grader.harness.codec import encode

            def points():
                from ..settings import Settings
                import requests
            """),
    })
    assert [str(edge) for edge in imports.foreign_harness_imports(edges)] == [
        "grader/harness/codec.py:3: grader.harness.codec imports _pytest",
        "grader/harness/plugin.py:7: grader.harness.plugin imports grader.settings (inside a function)",
        "grader/harness/plugin.py:8: grader.harness.plugin imports requests (inside a function)",
    ]
