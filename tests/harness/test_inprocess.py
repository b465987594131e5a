"""The in-process student: submissions imported beside the reference, each in its own module table."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import beras  # the reference, imported the ordinary way
from grader.harness import assert_close, codec, fetch
from grader.harness.handles import HarnessError, StudentError
from grader.harness.inprocess import InProcessTransport, IsolatedImports, connect, top_level_modules
from tests.harness.conftest import REFERENCE_DIR, write_package


def fake_beras(root: Path, label: str, extra: dict[str, str] | None = None) -> Path:
    """A tiny ``beras`` whose modules import each other absolutely and answer ``label``."""
    files = {
        "beras/__init__.py": f"""
            from beras.core import answer, origin, bump
            from beras import core
            LABEL = {label!r}
        """,
        "beras/core.py": f"""
            from beras import helpers

            state = {{"n": 0}}

            def answer():
                return helpers.decorate({label!r})

            def origin():
                return __file__

            def bump():
                state["n"] += 1
                return state["n"]
        """,
        "beras/helpers.py": """
            def decorate(text):
                return "<" + text + ">"
        """,
    }
    files.update(extra or {})
    return write_package(root, files)


def owned_modules() -> dict[str, object]:
    return {name: module for name, module in sys.modules.items() if name.split(".")[0] == "beras"}


def test_two_submissions_and_the_reference_coexist(tmp_path):
    before = owned_modules()
    assert sys.modules["beras"] is beras and Path(beras.__file__).is_relative_to(REFERENCE_DIR)
    one_root = fake_beras(tmp_path / "one", "one")
    two_root = fake_beras(tmp_path / "two", "two", {"beras/only_two.py": "VALUE = 2\n"})
    (two_root / "beras" / "__init__.py").write_text(
        (two_root / "beras" / "__init__.py").read_text() + "from beras import only_two\n")
    one, two = connect(one_root).root(), connect(two_root).root()

    assert fetch(one.beras.answer()) == "<one>"
    assert fetch(two.beras.answer()) == "<two>"
    assert fetch(one.beras.LABEL) == "one" and fetch(two.beras.LABEL) == "two"
    assert Path(fetch(one.beras.origin())).resolve().is_relative_to(one_root.resolve())
    assert Path(fetch(two.beras.origin())).resolve().is_relative_to(two_root.resolve())
    assert fetch(two.beras.only_two.VALUE) == 2
    with pytest.raises(StudentError, match="only_two"):
        one.beras.only_two  # session one never sees session two's modules
    # interleaved requests keep each side's state
    assert [fetch(one.beras.bump()), fetch(two.beras.bump()), fetch(one.beras.bump())] == [1, 1, 2]
    # the reference is untouched, module by module, and still works
    assert owned_modules() == before
    assert sys.modules["beras"] is beras
    assert not hasattr(beras, "LABEL") and not hasattr(beras, "answer")
    assert beras.Dense(2, 3)(np.ones((1, 2))).shape == (1, 3)


def test_sys_path_is_restored_after_requests(tmp_path):
    path_before = list(sys.path)
    student = connect(fake_beras(tmp_path / "one", "one")).root()
    fetch(student.beras.answer())
    assert sys.path == path_before


def test_handles_from_a_session_keep_working_after_other_sessions_ran(tmp_path):
    one = connect(fake_beras(tmp_path / "one", "one")).root()
    answer_one = one.beras.answer
    two = connect(fake_beras(tmp_path / "two", "two")).root()
    fetch(two.beras.answer())
    assert fetch(answer_one()) == "<one>"


def test_a_missing_submodule_is_never_taken_from_the_reference(tmp_path):
    # The reference has beras/losses.py; this submission lacks it. The editable install's
    # finder would happily supply the reference's file; the isolation must refuse it.
    assert (REFERENCE_DIR / "beras" / "losses.py").is_file()
    root = write_package(tmp_path / "partial", {
        "beras/__init__.py": """
            from beras import losses
        """,
    })
    before = owned_modules()
    transport = InProcessTransport(root)
    student = connect(root).root()
    for _ in range(2):  # not just the first time
        with pytest.raises((HarnessError, StudentError), match=r"beras\.losses"):
            student.beras
    assert owned_modules() == before
    # and nothing from outside the submission stays in its module table
    with pytest.raises((HarnessError, StudentError)):
        transport.exchange(_getattr_beras())
    for name, module in transport.imports._modules.items():
        origin = getattr(module, "__file__", None)
        assert origin is None or Path(origin).resolve().is_relative_to(root.resolve()), name


def _getattr_beras() -> bytes:
    return codec.pack({"op": "getattr", "ref": 0, "args": {"name": "beras"}}, [])


def test_a_missing_submodule_imported_lazily_is_refused_too(tmp_path):
    root = write_package(tmp_path / "lazy", {
        "beras/__init__.py": """
            def load_losses():
                from beras import losses
                return losses.__name__
        """,
    })
    student = connect(root).root()
    load_losses = student.beras.load_losses  # importing beras itself is fine
    with pytest.raises((HarnessError, StudentError), match=r"beras\.losses"):
        fetch(load_losses())


def test_a_syntax_error_is_a_student_error_when_beras_is_used(tmp_path):
    root = write_package(tmp_path / "broken", {
        "beras/__init__.py": "from beras.core import f\n",
        "beras/core.py": "def f(:\n    return 1\n",
    })
    session = connect(root)  # creating the session imports nothing
    student = session.root()
    for _ in range(2):
        with pytest.raises(StudentError) as caught:
            student.beras
        assert caught.value.type_name == "SyntaxError"
        assert "SyntaxError" in str(caught.value)
        assert "core.py" in caught.value.message
        assert str(tmp_path) not in str(caught.value)
    assert sys.modules["beras"] is beras


def test_an_import_error_in_the_submission_is_a_student_error(tmp_path):
    root = write_package(tmp_path / "bad_import", {
        "beras/__init__.py": "from beras.nowhere_at_all import thing\n",
    })
    with pytest.raises(StudentError, match="ModuleNotFoundError.*beras.nowhere_at_all"):
        connect(root).root().beras


def test_top_level_modules(tmp_path):
    write_package(tmp_path, {
        "beras/__init__.py": "",
        "helper.py": "",
        "conftest.py": "",
        "setup.py": "",
        "not-a-name.py": "",
        "data/readme.txt": "",
        "namespace_only/mod.py": "",
    })
    assert top_level_modules(tmp_path) == {"beras", "helper"}


def test_isolated_imports_restore_sys_modules_even_when_the_request_fails(tmp_path):
    root = fake_beras(tmp_path / "one", "one")
    imports = IsolatedImports(root, {"beras"})
    before = owned_modules()
    with pytest.raises(RuntimeError, match="boom"):
        with imports.active():
            assert imports.import_module("beras").LABEL == "one"
            raise RuntimeError("boom")
    assert owned_modules() == before
    with imports.active():
        assert sys.modules["beras"].LABEL == "one"  # kept in the private table
    assert sys.modules["beras"] is beras


# ------------------------------------------------------------------ the real reference as a submission


def test_the_reference_as_a_submission_computes_the_same_dense_forward(float64):
    student = connect(REFERENCE_DIR).root()
    student.beras.set_floatx("float64")
    student.beras.set_seed(11)
    beras.set_seed(11)
    layer, expected_layer = student.beras.Dense(5, 3), beras.Dense(5, 3)
    np.testing.assert_array_equal(fetch(layer.w), beras.to_numpy(expected_layer.w))
    x = np.random.default_rng(0).normal(size=(4, 5))
    output = layer(x)
    assert repr(output).startswith("<student Tensor: student.beras.Dense(5, 3)(float64[4, 5])")
    assert_close(output, expected_layer(x))
    value = fetch(output)
    assert type(value) is np.ndarray and value.shape == (4, 3)
    # with the weights set from the test, both sides agree too
    weights, bias = np.arange(15.0).reshape(5, 3) / 10, np.array([1.0, -1.0, 0.5])
    layer.w, layer.b = weights, bias
    expected_layer.w, expected_layer.b = weights, bias
    assert_close(layer(x), expected_layer(x), rtol=0, atol=0)
    assert sys.modules["beras"] is beras


def test_the_reference_as_a_submission_reports_student_errors_with_relative_frames():
    student = connect(REFERENCE_DIR).root()
    with pytest.raises(StudentError) as caught:
        student.beras.Dense(3, 2)(np.zeros((4, 5)))
    error = caught.value
    assert str(error).startswith("student.beras.Dense(3, 2)(float64[4, 5]) raised ValueError: Dense expects")
    assert 'File "beras/layers/dense.py"' in error.student_traceback
    assert str(REFERENCE_DIR) not in str(error)
