"""Stub and complete renderings: golden directories, origin maps, and the real reference.

Each folder under ``golden/`` holds ``input.py`` and the expected ``expected_stub.py`` and
``expected_complete.py``. Run with ``BERAS_UPDATE_GOLDEN=1`` to rewrite the expected files
from the current renderer instead of comparing (the tests then pass); review the diff
before committing it.
"""

from __future__ import annotations

import ast
import difflib
import os
import pathlib
import re

import pytest

from grader.authoring import markers, stubs
from grader.authoring.markers import Kind

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.py").is_file())
REFERENCE = pathlib.Path(__file__).resolve().parents[2] / "reference" / "beras"
REFERENCE_FILES = sorted(REFERENCE.rglob("*.py"))
UPDATE = os.environ.get("BERAS_UPDATE_GOLDEN") == "1"
MARKER_LINE = re.compile(r"^[ \t]*# (BEGIN|END) (SOLUTION|HIDDEN)[ \t]*(\r?\n|\Z)", re.MULTILINE)


def _compare(expected_path: pathlib.Path, actual: str) -> None:
    """Fail with a unified diff unless ``actual`` is the file's text; rewrite the file when updating."""
    if UPDATE:
        expected_path.write_bytes(actual.encode())
        return
    expected = expected_path.read_bytes().decode()
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                    str(expected_path), "rendered")
        pytest.fail(f"{expected_path} differs from the rendering (BERAS_UPDATE_GOLDEN=1 rewrites it):\n"
                    + "".join(diff))


def test_golden_cases_exist():
    assert {"whole_body", "partial_block", "class_level_helpers", "module_level_block", "one_liners",
            "hidden_blocks", "nested_functions", "comments_and_strings"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_stub_matches_golden(case):
    source = (GOLDEN / case / "input.py").read_text()
    _compare(GOLDEN / case / "expected_stub.py", stubs.render_stub(source, f"{case}/input.py").text)


@pytest.mark.parametrize("case", CASES)
def test_complete_matches_golden(case):
    source = (GOLDEN / case / "input.py").read_text()
    _compare(GOLDEN / case / "expected_complete.py", stubs.render_complete(source, f"{case}/input.py").text)


def test_origin_maps_each_line_back():
    source = (GOLDEN / "hidden_blocks" / "input.py").read_text()
    lines = source.splitlines()
    generated = {"pass", "# TODO: implement Layer.forward", 'raise NotImplementedError("Layer.forward")'}
    for rendered in (stubs.render_stub(source, "input.py"), stubs.render_complete(source, "input.py")):
        out = rendered.text.splitlines()
        assert len(rendered.origin) == len(out)
        for text, origin in zip(out, rendered.origin):
            if origin is None:
                assert text.strip() in generated
            else:
                assert text == lines[origin - 1]
    stub = stubs.render_stub(source, "input.py")
    at = stub.text.splitlines().index('        raise NotImplementedError("Layer.forward")')
    # def, docstring, TODO, raise, the blank line after the END marker
    assert stub.origin[at - 3: at + 2] == (19, 20, None, None, 27)
    assert stub.origin[:5] == (1, 2, 3, 4, 10)  # lines 5-9 are a hidden block


def test_origin_of_one_liners_is_their_line():
    source = (GOLDEN / "one_liners" / "input.py").read_text()
    stub = stubs.render_stub(source, "input.py")
    assert stub.origin == tuple(range(1, len(source.splitlines()) + 1))
    assert stub.text.splitlines()[9] == "    y = ...  # TODO"


def test_stubbed_code_lists_what_students_write():
    source = (GOLDEN / "class_level_helpers" / "input.py").read_text()
    assert stubs.stubbed_code(source, "input.py") == [stubs.StubbedCode("Pool.forward", (25,))]
    source = (GOLDEN / "comments_and_strings" / "input.py").read_text()
    assert stubs.stubbed_code(source, "input.py") == [
        stubs.StubbedCode("explain", (22, 24)), stubs.StubbedCode("dedented", (32, 33, 34, 35)),
    ]
    source = (GOLDEN / "one_liners" / "input.py").read_text()
    found = stubs.stubbed_code(source, "input.py")
    assert [(s.qualname, s.lines) for s in found][:3] == [("", (5,)), ("affine", (10,)), ("annotated", (16,))]


def test_line_endings_are_kept():
    source = "def f():\r\n    # BEGIN SOLUTION\r\n    return 1\r\n    # END SOLUTION"
    assert stubs.render_stub(source, "m.py").text == 'def f():\r\n    raise NotImplementedError("f")'
    assert stubs.render_complete(source, "m.py").text == "def f():\r\n    return 1"


def test_no_final_newline_and_a_blank_last_line():
    rendered = stubs.render_stub("x = 1\n\n# BEGIN HIDDEN\ny = 2\n# END HIDDEN", "m.py")
    assert rendered == stubs.Rendered("x = 1\n", (1,))


def test_invalid_markers_raise_before_rendering():
    with pytest.raises(markers.MarkerError):
        stubs.render_stub("# BEGIN SOLUTION\nx = 1\n", "m.py")


def test_a_rendering_that_does_not_parse_is_reported_as_a_bug():
    with pytest.raises(stubs.RenderError, match=r"m\.py: the rendered student stub does not parse \(line 2"):
        stubs._check_compiles(stubs.Rendered("def f():\nreturn 1\n", (1, 2)), "m.py", "student stub")


def test_a_stub_that_loses_a_nonlocal_binding_is_a_marker_error():
    source = ("def outer():\n    # BEGIN SOLUTION\n    count = 0\n    # END SOLUTION\n\n"
              "    def inner():\n        nonlocal count\n        count += 1\n    return inner\n")
    stubs.render_complete(source, "m.py")
    with pytest.raises(markers.MarkerError, match=r"^m\.py:7: the student stub would not compile: no bind"):
        stubs.render_stub(source, "m.py")


# The golden inputs ride along: unlike the reference, they hold one-liners and hidden blocks.
@pytest.mark.parametrize("path", REFERENCE_FILES + [GOLDEN / case / "input.py" for case in CASES],
                         ids=lambda p: str(p.relative_to(REFERENCE if REFERENCE in p.parents else GOLDEN)))
def test_reference_renders(path):
    source = path.read_text()
    markup = markers.parse(source, str(path))
    stub = stubs.render_stub(source, str(path))
    complete = stubs.render_complete(source, str(path))
    ast.parse(stub.text)
    ast.parse(complete.text)
    source_lines, stub_lines = source.splitlines(), stub.text.splitlines()
    one_liners = {o.line: o for o in markup.one_liners}

    for entry in stubs.stubbed_code(source, str(path)):
        if entry.lines[0] in one_liners:
            assert stub_lines[stub.origin.index(entry.lines[0])].endswith("...  # TODO")
        else:
            assert f'raise NotImplementedError("{entry.qualname}")' in stub.text
    # No solution line survives in the stub: not by origin, not at its original position.
    content = {row for b in markup.blocks if b.kind is Kind.SOLUTION for row in range(b.begin + 1, b.end)}
    assert not content & set(stub.origin)
    for row in content | one_liners.keys():
        if source_lines[row - 1].strip() and row <= len(stub_lines):
            assert stub_lines[row - 1] != source_lines[row - 1], f"{path}:{row} kept in the stub"

    # The complete reference is the source without marker lines (and hidden code, one-line markers).
    hidden = [b for b in markup.blocks if b.kind is Kind.HIDDEN]
    if not hidden and not one_liners and REFERENCE in path.parents:  # golden inputs hold markers in strings
        assert complete.text == MARKER_LINE.sub("", source)
    if not hidden:
        markers_at = {row for b in markup.blocks for row in (b.begin, b.end)}
        lines = enumerate(source.splitlines(keepends=True), start=1)
        kept = [one_liners[row].code + "\n" if row in one_liners else line
                for row, line in lines if row not in markers_at]
        assert complete.text == "".join(kept)
    for text, origin in zip(complete.text.splitlines(), complete.origin, strict=True):
        if origin is None:
            assert hidden and text.strip() == "pass"
        else:
            assert text == (one_liners[origin].code if origin in one_liners else source_lines[origin - 1])


def test_reference_has_solution_blocks():
    assert sum(len(markers.parse(p.read_text(), str(p)).blocks) for p in REFERENCE_FILES) > 20
