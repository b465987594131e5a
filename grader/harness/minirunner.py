"""A small test runner for students without pytest: runs ``test_*`` functions with the harness fixtures.

It knows the fixtures public tests may use (``student``, ``seed``, ``rng``) and nothing
else of pytest, so public tests are written as plain functions with plain ``assert``s.
Under pytest, the plugin gives the same fixtures the same values.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

import numpy as np

from grader.harness.handles import StudentError
from grader.harness.inprocess import connect
from grader.harness.seeds import test_seed


def run(tests_dir: Path, submission: Path, run_seed: int) -> int:
    """Run every ``test_*`` function in ``tests_dir/test_*.py``; print a summary; return 0 if all passed."""
    session = connect(submission)
    passed = failed = 0
    root = tests_dir.parent
    for path in sorted(tests_dir.glob("test_*.py")):
        try:
            module = _load(path)
        except Exception as error:  # one file that cannot load (it imports pytest, say) fails, not the run
            failed += 1
            print(f"FAILED {path.relative_to(root).as_posix()}: cannot be loaded: "
                  f"{type(error).__name__}: {error}")
            continue
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_") or function.__module__ != module.__name__:
                continue
            test_id = f"{path.relative_to(root).as_posix()}::{name}"
            fixtures = {"student": lambda: session.root(), "seed": lambda: test_seed(run_seed, test_id),
                        "rng": lambda: np.random.default_rng(test_seed(run_seed, test_id))}
            try:
                kwargs = {p: fixtures[p]() for p in inspect.signature(function).parameters}
                function(**kwargs)
            except KeyError as error:
                failed += 1
                print(f"FAILED {test_id}: uses the fixture {error}, which only pytest provides "
                      "(pip install pytest)")
            except (AssertionError, StudentError) as error:
                failed += 1
                print(f"FAILED {test_id}: {type(error).__name__}: {error}")
            except Exception as error:
                failed += 1
                print(f"FAILED {test_id}: {type(error).__name__}: {error}")
                traceback.print_exc(limit=-3)
            else:
                passed += 1
                print(f"passed {test_id}")
    print(f"\n{passed} passed, {failed} failed (seed {run_seed})")
    return 0 if failed == 0 and passed > 0 else 1


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_public_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
