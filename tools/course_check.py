"""Run the course's own BERAS handout tests, unchanged, against our ``beras`` (an outside check).

Not part of ``make test``: it needs a copy of the course's handout (CI cannot fetch it) and
an interpreter with what the handout's tests import (tensorflow, scikit-learn, matplotlib).

Usage::

    python tools/course_check.py HANDOUT [--beras DIR] [--python PY] [--json FILE]

``HANDOUT`` is a checkout of the handout or its bare git directory (``HEAD`` is exported).
``--beras`` is the folder holding the ``beras`` package under test (default: this
checkout's ``reference/``); point it at another checkout's ``reference/`` to compare.

How the tests reach our code: the handout is exported to a temporary folder *without* its
own ``beras/`` (the student stubs), so the tests' ``import beras`` finds ours on
``PYTHONPATH``. No adapter is needed: every module and class the handout's ``beras/``
defines has the same name in ours (the script checks this and lists any that do not).
Each ``test_*`` function of ``tests/test_*.py`` is called once, as the handout's runner does.
The one change to the handout: its ``assignment.py`` (the student's script, imported by
``tests/test_assignment.py``) ends in an ``if __name__ == "__main__":`` block holding only
comments, which does not compile; ``pass`` is appended to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tests that do not test the library: they test the student's own files, or are left for
# the student to finish. Their outcome is reported but not counted.
NOT_APPLICABLE = {
    "test_sigmoid": "its body is a TODO for the student (it passes vacuously)",
    "test_softmax": "its body is a TODO for the student (it passes vacuously)",
    "test_cce": "its body is a TODO for the student (logits = nan)",
    "test_preprocess_shapes": "tests the student's preprocess.py (a TODO), which downloads MNIST",
    "test_preprocess_values": "tests the student's preprocess.py (a TODO), which downloads MNIST",
    "test_model_return": "tests the student's assignment.get_model (a TODO)",
}

# Runs inside the handout copy: names check, then every test function, one JSON line out.
DRIVER = r"""
import importlib, json, pathlib, re, sys, traceback
import beras
out = {"beras": beras.__file__, "missing_names": [], "tests": []}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    module_name = "beras" if path.stem == "__init__" else "beras." + path.stem
    try:
        ours = importlib.import_module(module_name)
    except ImportError:
        out["missing_names"].append(module_name)
        continue
    # the handout's stubs need not parse (``np.asarray(a=???)``): read class names by line
    for name in re.findall(r"^class (\w+)", path.read_text(), flags=re.M):
        if not hasattr(ours, name):
            out["missing_names"].append(module_name + "." + name)
for path in sorted(pathlib.Path("tests").glob("test_*.py")):
    if path.stem == "test_utils":
        continue
    try:
        module = importlib.import_module("tests." + path.stem)
    except Exception as exc:
        out["tests"].append({"file": path.name, "name": "(import)", "passed": False,
                             "error": f"{type(exc).__name__}: {exc}"})
        continue
    for name in sorted(n for n in vars(module) if n.startswith("test_") and callable(getattr(module, n))):
        try:
            getattr(module, name)()
            out["tests"].append({"file": path.name, "name": name, "passed": True, "error": ""})
        except BaseException as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            at = f"{pathlib.Path(where.filename).name}:{where.lineno}"
            out["tests"].append({"file": path.name, "name": name, "passed": False,
                                 "error": f"{type(exc).__name__}: {exc} ({at})"})
print("COURSE-CHECK " + json.dumps(out))
"""


def export_handout(handout: Path, dest: Path) -> None:
    """Copy the handout (a checkout, or a bare git directory's HEAD) to ``dest``, minus ``beras/``."""
    if (handout / "HEAD").is_file() and (handout / "objects").is_dir():
        archive = subprocess.run(
            ["git", "--git-dir", str(handout), "archive", "HEAD"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    else:
        if not (handout / "tests").is_dir() or not (handout / "beras").is_dir():
            raise SystemExit(f"{handout}: not the course's BERAS handout (expected tests/ and beras/ in it)")
        shutil.copytree(handout, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    if not (dest / "tests").is_dir() or not (dest / "beras").is_dir():
        raise SystemExit(f"{handout}: not the course's BERAS handout (expected tests/ and beras/ in it)")
    shutil.move(str(dest / "beras"), str(dest / "_handout_beras"))
    complete_student_script(dest / "assignment.py")


def complete_student_script(script: Path) -> None:
    """Let the student's ``assignment.py`` import: the handout's ``__main__`` block is only comments.

    ``tests/test_assignment.py`` imports it, so without this none of its tests runs, not
    even ``test_forward``, which uses only the library. Nothing else in it changes.
    """
    if not script.is_file():
        return
    source = script.read_text()
    try:
        compile(source, str(script), "exec")
    except SyntaxError:
        script.write_text(source.rstrip() + "\n    pass  # added by course_check: the block was empty\n")


def run(handout: Path, beras_dir: Path, python: str) -> dict:
    """Run the handout's tests against the ``beras`` in ``beras_dir``; return the driver's report."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        work = Path(tmp)
        export_handout(handout, work)
        env = dict(os.environ, PYTHONPATH=str(beras_dir), TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
        proc = subprocess.run(
            [python, "-c", DRIVER, str(work / "_handout_beras")],
            cwd=work, env=env, capture_output=True, text=True, timeout=900,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("COURSE-CHECK "):
            return json.loads(line[len("COURSE-CHECK "):])
    raise SystemExit(f"the handout's tests did not report (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("handout", type=Path, help="the handout: a checkout or a bare git directory")
    parser.add_argument("--beras", type=Path, default=ROOT / "reference", help="folder holding beras/")
    parser.add_argument("--python", default=sys.executable, help="interpreter with tensorflow and sklearn")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    if not (args.beras / "beras" / "__init__.py").is_file():
        parser.error(f"--beras {args.beras}: no beras/__init__.py in it")
    python = shutil.which(args.python)
    if python is None:
        parser.error(f"--python {args.python}: no such interpreter")
    report = run(args.handout.resolve(), args.beras.resolve(), str(Path(python).absolute()))
    print(f"beras under test: {report['beras']}")
    print("names the handout defines that ours lacks:", ", ".join(report["missing_names"]) or "none")
    counted = {"passed": 0, "failed": 0}
    for test in report["tests"]:
        reason = NOT_APPLICABLE.get(test["name"])
        outcome = "PASS" if test["passed"] else "FAIL"
        if reason is None:
            counted["passed" if test["passed"] else "failed"] += 1
        note = f"not counted: {reason}" if reason else test["error"]
        print(f"  {outcome}  {test['file']}::{test['name']}  {note}")
    if any("No module named" in t["error"] for t in report["tests"] if t["name"] == "(import)"):
        print("hint: --python must name an interpreter with tensorflow, scikit-learn and matplotlib")
    print(f"applicable: {counted['passed']} passed, {counted['failed']} failed")
    if args.json:
        args.json.write_text(json.dumps({**report, "counted": counted}, indent=2))
    return 0 if counted["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
