"""Every folder of modules ships: pyproject's package list names each one (a non-editable install, as the
service image makes, installs only what it lists; the editable install the tests run on finds them all)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _packages_on_disk() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, folder in config["package-dir"].items():
        for module in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in module.parts or module.parent.name in ("templates",):
                continue
            relative = module.parent.relative_to(ROOT / folder)
            found.add(".".join((name, *relative.parts)))
    return found


def test_every_folder_of_modules_is_a_listed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = sorted(_packages_on_disk() - set(config["packages"]))
    assert missing == [], f"add these to [tool.setuptools] packages in pyproject.toml: {', '.join(missing)}"
