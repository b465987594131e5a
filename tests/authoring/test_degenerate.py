"""Degenerate submissions: the generic renderings of a marked source, and hand-written cases read from a
folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.authoring.degenerate import Base, DegenerateError, Form, generic, load_cases, render_degenerate

MARKED = textwrap.dedent('''
    """A marked module."""
    import numpy as np

    SCALE = 3.0


    class Layer:
        def __init__(self, size):
            # BEGIN SOLUTION
            self.size = size
            # END SOLUTION

        def forward(self, x, y=None):
            """Twice x."""
            # BEGIN SOLUTION
            return np.asarray(x) * 2.0
            # END SOLUTION

        def gradients(self) -> list:
            """One gradient."""
            # BEGIN SOLUTION
            return [np.full(self.size, 2.0)]
            # END SOLUTION

        # BEGIN SOLUTION
        def _helper(self):
            return 1
        # END SOLUTION


    def scaled(v):
        """SCALE * v, plus one."""
        v = np.asarray(v)
        out = v * SCALE  # SOLUTION
        return out + 1.0

    # BEGIN HIDDEN
    AUTHOR_ONLY = 1
    # END HIDDEN
''')


def _load(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "rendered", "exec"), namespace)
    return namespace


def test_identity_returns_the_first_argument_everywhere() -> None:
    module = _load(render_degenerate(MARKED, "beras/m.py", Form.IDENTITY))
    layer = module["Layer"](4)
    x = np.arange(3.0)
    assert layer.forward(x) is x
    assert layer.gradients() == [None]  # no argument but self: None, in the list the annotation promises
    assert np.array_equal(module["scaled"](x), x + 1.0)  # the one-liner's value only; the code after it stays
    assert not hasattr(layer, "_helper") and "AUTHOR_ONLY" not in module
    assert not hasattr(layer, "size")  # __init__'s solution is gone: pass, no return


def test_zeros_returns_zeros_shaped_like_the_first_argument() -> None:
    module = _load(render_degenerate(MARKED, "beras/m.py", Form.ZEROS))
    out = module["Layer"](4).forward(np.ones((2, 5)))
    assert out.shape == (2, 5) and not out.any()
    assert module["Layer"](4).gradients() == [0.0]
    assert np.array_equal(module["scaled"](np.ones(3)), np.ones(3))  # zeros, then the kept "+ 1.0"


def test_every_rendering_keeps_signatures_docstrings_and_the_unmarked_code() -> None:
    for form in Form:
        text = render_degenerate(MARKED, "beras/m.py", form)
        assert 'def forward(self, x, y=None):\n        """Twice x."""' in text
        assert "SCALE = 3.0" in text and "return out + 1.0" in text
        assert "* 2.0" not in text and "BEGIN" not in text


def test_generic_gives_one_submission_per_form_over_the_owned_files() -> None:
    cases = generic({"m.py": MARKED, "other.py": MARKED}, ["m.py"])
    assert [case.name for case in cases] == ["generic-identity", "generic-zeros"]
    assert all(set(case.files) == {"m.py"} and case.base is Base.STARTER and not case.groups
               for case in cases)


def _case(root: Path, name: str, toml: str, files: dict[str, str]) -> Path:
    folder = root / "degenerate" / name
    folder.mkdir(parents=True)
    (folder / "case.toml").write_text(toml)
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def test_cases_are_read_in_name_order_with_their_settings(tmp_path: Path) -> None:
    _case(tmp_path, "b-slow", 'description = "slow"\nbase = "reference"\ngroups = ["Speed"]\n',
          {"layers/conv.py": "SLOW = 1\n"})
    _case(tmp_path, "a-lookup", 'description = """looks\n  the data up"""\n', {"model.py": "x = 1\n"})
    cases = load_cases(tmp_path, ["model.py", "layers/conv.py"], ["Speed", "Training"])
    assert [c.name for c in cases] == ["a-lookup", "b-slow"]
    assert (cases[0].description == "looks the data up" and cases[0].base is Base.STARTER
            and cases[0].groups == ())
    assert cases[1].base is Base.REFERENCE and cases[1].groups == ("Speed",)
    assert cases[1].files == {"layers/conv.py": "SLOW = 1\n"}


def test_no_folder_means_no_cases(tmp_path: Path) -> None:
    assert load_cases(tmp_path, ["model.py"], []) == []


@pytest.mark.parametrize("toml,files,words", [
    ('description = "x"\n', {"core.py": "x = 1\n"}, "core.py is not a file the students own"),
    ('description = "x"\n', {}, "holds no owned file"),
    ('description = "x"\nbase = "solution"\n', {"model.py": ""}, "`base` must be 'starter' or 'reference'"),
    ('description = "x"\ngroups = ["Nope"]\n', {"model.py": ""}, "groups: 'Nope' is not a point group"),
    ('description = "x"\ngroup = ["Speed"]\n', {"model.py": ""}, "unknown key 'group'"),
    ('base = "starter"\n', {"model.py": ""}, "`description` must be a non-empty string"),
    ('description = "x\n', {"model.py": ""}, "case.toml: not readable TOML"),
])
def test_a_malformed_case_is_refused_naming_the_case_and_the_fault(tmp_path, toml, files, words) -> None:
    _case(tmp_path, "bad", toml, files)
    with pytest.raises(DegenerateError) as info:
        load_cases(tmp_path, ["model.py"], ["Speed"])
    assert str(info.value).startswith("degenerate/bad") and words in str(info.value)


def test_a_case_without_case_toml_or_with_a_reserved_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "degenerate" / "bare").mkdir(parents=True)
    with pytest.raises(DegenerateError, match="degenerate/bare: no case.toml"):
        load_cases(tmp_path, ["model.py"], [])
    (tmp_path / "degenerate" / "bare").rmdir()
    _case(tmp_path, "generic-zeros", 'description = "x"\n', {"model.py": ""})
    with pytest.raises(DegenerateError, match="names starting with 'generic-' are the gate's own"):
        load_cases(tmp_path, ["model.py"], [])
