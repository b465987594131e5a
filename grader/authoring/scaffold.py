"""``beras-grader new``: a valid assignment folder to start from, and a small marked layer when there is
none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.config import CONFIG_FILE, Limits, Submissions

# The schema's rule for `name` (config._NAME), with a length cap: the name is a folder and a module name too.
NAME = re.compile(r"[a-z][a-z0-9-]{0,59}")
PUBLIC_GROUP = "Sanity checks"
HIDDEN_GROUP = "Hidden tests"


class ScaffoldError(ValueError):
    """The scaffold cannot be written; the message says why and what to do instead."""


@dataclass
class Scaffold:
    """What ``new`` wrote: the assignment folder, and the reference files it created or changed."""

    folder: Path
    owned: str
    layer: str | None  # the class the tests use, when ``new`` wrote the module
    written: list[Path] = field(default_factory=list)


def default_owned(name: str) -> str:
    """The owned file ``new NAME`` proposes: ``layers/<name with _>.py``."""
    return f"layers/{name.replace('-', '_')}.py"


def class_name(name: str) -> str:
    """The layer class of a new module: ``beras-scale`` -> ``BerasScale``."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", name) if part)


def create(assignments_dir: Path, reference: Path, name: str, owned: str | None = None) -> Scaffold:
    """Write ``assignments_dir/name``, and a marked layer at ``reference/owned`` when that file does not
    exist.

    A new layer is exported from the package's ``__init__.py`` (``beras.<Class>``), so the tests can reach it
    as ``student.beras.<Class>``. That changes every other assignment's starter: their next release says so.

    Args:
        assignments_dir: the folder of assignment folders.
        reference: the marked reference package (``reference/beras``).
        name: the new assignment's name (lowercase letters, digits and '-', starting with a letter).
        owned: the file students write, as a path inside the package (default: ``default_owned(name)``).

    Returns:
        What was written.

    Raises:
        ScaffoldError: a bad name or path, an existing assignment, or an existing owned file the tests
            cannot be written for (the message says what to do).
    """
    if not NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} cannot name an assignment: expected lowercase letters, digits and "
                            "'-', starting with a letter, at most 60 characters, e.g. 'beras-dropout'")
    folder = assignments_dir / name
    if folder.exists():
        raise ScaffoldError(f"assignment {name!r} exists already ({folder}); choose another name, or archive "
                            f"it with `beras-grader archive {name}` if it is an abandoned draft")
    if not (reference / "__init__.py").is_file():
        raise ScaffoldError(f"no reference package at {reference} (expected {reference / '__init__.py'}); "
                            "run from the repository root or pass --reference")
    owned = owned or default_owned(name)
    parts = owned.split("/")
    if (not owned.endswith(".py") or owned.startswith("/") or any(p in ("", ".", "..") for p in parts)
            or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in [*parts[:-1], parts[-1][:-3]])):
        raise ScaffoldError(f"--owns {owned!r}: expected a .py path inside the package made of Python names, "
                            "e.g. layers/dropout.py (without beras/)")
    module_file = reference / owned
    cls = class_name(name)
    scaffold = Scaffold(folder, owned, None)
    if module_file.exists():
        # The author's own module: the tests cannot know what it holds, so they name what to replace.
        units = f"{owned}::*"
        public_test, hidden_test = _placeholder_tests(owned), _placeholder_tests(owned, hidden=True)
        sample = None
    else:
        if not module_file.parent.is_dir():
            raise ScaffoldError(f"--owns {owned!r}: the folder {module_file.parent} does not exist in the "
                                "reference; create it (with an __init__.py) or choose a file in an existing "
                                "folder")
        init = reference / "__init__.py"
        init_text = init.read_text(encoding="utf-8")
        module = "beras." + owned[:-3].replace("/", ".")
        if re.search(rf"\b{re.escape(cls)}\b", init_text):
            raise ScaffoldError(f"beras already has a name {cls}; choose another assignment name or pass "
                                "--owns")
        module_file.write_text(_LAYER.format(cls=cls, name=name), encoding="utf-8")
        init.write_text(_export(init_text, module, cls, name), encoding="utf-8")
        scaffold.written += [module_file, init]
        scaffold.layer = cls
        units = f"{owned}::{cls}.*"
        public_test, hidden_test = _PUBLIC_TEST.format(cls=cls), _HIDDEN_TEST.format(cls=cls)
        sample = _SAMPLE.format(owned=owned, cls=cls, group=HIDDEN_GROUP)
    stem = owned[:-3].replace("/", "_")
    files = {
        CONFIG_FILE: _TOML.format(name=name, title=f"{cls}: a new Beras assignment", owned=owned,
                                  public_group=PUBLIC_GROUP, hidden_group=HIDDEN_GROUP,
                                  public_units=f"{owned}::{cls}.forward" if scaffold.layer else units,
                                  hidden_units=units),
        f"public_tests/test_{stem}_sanity.py": public_test,
        f"hidden_tests/test_{stem}.py": hidden_test,
        "README.md": _README.format(name=name, owned=owned, layer_note=(
            f"`new` wrote `reference/beras/{owned}` (the class `{cls}`, exported from `beras/__init__.py`)"
            if scaffold.layer else f"`reference/beras/{owned}` existed already, so the tests are "
                                   "placeholders that fail until you write them")),
    }
    if sample is not None:
        files["samples/planted-bug.toml"] = sample
    for rel, text in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        scaffold.written.append(target)
    return scaffold


def _export(init_text: str, module: str, cls: str, name: str) -> str:
    """``init_text`` with ``from <module> import <cls>`` after its last ``from beras`` import line."""
    lines = init_text.splitlines(keepends=True)
    line = f"from {module} import {cls}  # added by `beras-grader new {name}`\n"
    last = max((i for i, text in enumerate(lines) if text.startswith("from beras")), default=-1)
    if last < 0:
        return init_text + ("" if init_text.endswith("\n") or not init_text else "\n") + line
    return "".join(lines[:last + 1] + [line] + lines[last + 1:])


def _placeholder_tests(owned: str, hidden: bool = False) -> str:
    where = "hidden" if hidden else "public"
    return (f'"""The {where} tests of beras/{owned}: replace this placeholder with real tests."""\n\n\n'
            f"def test_write_me(student):\n"
            f'    raise AssertionError("write the {where} tests of beras/{owned} '
            '(see assignments/README.md)")\n')


_LAYER = '''\
"""{cls}: multiply the input by a constant, ``y = factor * x`` (written by `beras-grader new {name}`).

A starting point: replace it with the layer your students write, keeping the markers.

Shapes: ``x`` has any shape; ``y`` has the same shape.

Gradients, for an upstream gradient ``J = dL/dy`` shaped like ``y``:

* ``dy/dx = factor`` at every element (an elementwise layer), so ``dL/dx = J * factor``;
  ``Diffable.compose_input_gradients`` applies that rule, so this layer does not override it.
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable


class {cls}(Diffable):
    """Multiply by a constant ``factor``; no weights.

    Args:
        factor: the constant, a number.
    """

    def __init__(self, factor: float = 2.0) -> None:
        if not isinstance(factor, (int, float)) or isinstance(factor, bool):
            raise ValueError(f"{cls}: factor must be a number. Received: factor={{factor!r}}")
        self.factor = float(factor)

    def forward(self, x: Any) -> Any:
        """Return ``factor * x``."""
        # BEGIN SOLUTION
        return backend.asarray(x) * self.factor
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``dy/dx`` is ``factor`` at every element, shaped like the input."""
        # BEGIN SOLUTION
        return [backend.xp().full_like(backend.asarray(self.inputs[0]), self.factor)]
        # END SOLUTION
'''

_PUBLIC_TEST = '''\
"""Sanity check of {cls}, shipped in the starter: the expected values are computed here with plain numpy."""

from grader.harness import assert_close


def test_forward_multiplies_by_the_factor(student, rng):
    x = rng.normal(size=(4, 3))
    assert_close(student.beras.{cls}(3.0)(x), 3.0 * x, rtol=1e-5, atol=1e-6,
                 what="{cls}(3.0)(x) for x of shape (4, 3), compared with 3 * x")
'''

_HIDDEN_TEST = '''\
"""{cls}: the chain rule against the reference, on a random input and upstream gradient."""

from grader.harness import assert_close


def test_compose_input_gradients(student, reference, rng):
    x = rng.normal(size=(2, 5))
    upstream = rng.normal(size=(2, 5))
    mine, theirs = student.beras.{cls}(0.5), reference.beras.{cls}(0.5)
    mine(x)
    theirs(x)
    assert_close(mine.compose_input_gradients(upstream), theirs.compose_input_gradients(upstream),
                 rtol=1e-5, atol=1e-6, what="{cls}(0.5).compose_input_gradients(J): the list [dL/dx]")
'''

_SAMPLE = '''\
# A sample submission: the reference with one bug planted. `beras-grader check` grades it; exactly the
# listed groups must lose points (see worker/grading/samples.py for the format).
description = "the local gradient's sign flipped"

[[bugs]]
file = "{owned}"
find = "self.factor)]"
replace = "-self.factor)]  # bug: the wrong sign"
groups = ["{group}"]
'''

# The limits and submission policy every new assignment starts from (``new``, and the service's "New
# assignment" draft), written out from the schema's own defaults (``config.Limits``, the one limits table).
_SCAFFOLD_KEYS = (
    (Limits, "limits", ("wall_time_s", "call_time_s", "memory_mb", "cpus", "pids", "output_kb")),
    (Submissions, "submissions", ("rate_limit_count", "rate_limit_window_minutes")),
)
DEFAULT_LIMITS = "\n".join(
    f"[{section}]\n" + "".join(f"{key} = {model.model_fields[key].default:g}\n" for key in keys)
    for model, section, keys in _SCAFFOLD_KEYS)

_TOML = '''\
# Written by `beras-grader new {name}`. Every key is described in assignments/SCHEMA.md.
name = "{name}"
title = "{title}"
queue = "cpu"
gpu_variant = "none"
free_points = 0

[files]
owned = ["{owned}"]

[tests]
public = "public_tests"
hidden = "hidden_tests"

# The sanity checks students run themselves; their results show until the due date.
[[points]]
group = "{public_group}"
tests = ["public_tests/*"]
points = 2
visibility = "visible_until_due_date"
units = ["{public_units}"]

[[points]]
group = "{hidden_group}"
tests = ["hidden_tests/*"]
points = 8
visibility = "after_due_date"
units = ["{hidden_units}"]

''' + DEFAULT_LIMITS + '''
# No [schedule] yet: students see no due date until you add one, e.g.
# [schedule]
# due = 2027-02-08T23:59:00-05:00
# late_penalty_per_day = 0.1
# last_late_day = 3
'''

_README = '''\
# {name}

Written by `beras-grader new {name}`. Students write `beras/{owned}`; {layer_note}.

Next steps:

1. Write the solution in `reference/beras/{owned}` between `# BEGIN SOLUTION` / `# END SOLUTION` markers
   (assignments/README.md, "Writing a layer").
2. Write the tests: `public_tests/` ships in the starter (plain numpy expectations, no pytest import),
   `hidden_tests/` grades (compare with `reference`). Give every test a `[[points]]` group in assignment.toml.
3. Plant a bug per group in `samples/*.toml`: the groups it must cost.
4. `beras-grader check {name}`: the config, the test -> group -> points table, the samples, the reference
   under 3 seeds. Repeat until it exits 0.
5. `beras-grader release {name} --out releases/`: the release gate; students get `{name}-starter.zip`.

An abandoned draft: `beras-grader archive {name}` (or `delete`, while it was never published).
'''
