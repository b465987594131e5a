"""The solution-marker grammar: every error it reports, and what it says about valid sources."""

from __future__ import annotations

import textwrap

import pytest

from grader.authoring.markers import Block, Kind, MarkerError, OneLiner, parse

PATH = "pkg/mod.py"

# (source, line of the error, fragment of its message), one case per error the grammar reports
ERRORS = [
    pytest.param(
        "def f(:\n    pass\n",
        1, "not valid Python", id="syntax-error",
    ),
    # near-miss spellings
    pytest.param(
        "#BEGIN SOLUTION\nx = 1\n# END SOLUTION\n",
        1, "expected exactly '# BEGIN SOLUTION'", id="no-space",
    ),
    pytest.param(
        "# begin solution\nx = 1\n# END SOLUTION\n",
        1, "expected exactly '# BEGIN SOLUTION'", id="lower-case",
    ),
    pytest.param(
        "# BEGIN SOLUTIONS\nx = 1\n# END SOLUTION\n",
        1, "malformed marker '# BEGIN SOLUTIONS'", id="plural",
    ),
    pytest.param(
        "# BEGIN SOLUTION\nx = 1\n# END SOLUTION here\n",
        3, "expected exactly '# END SOLUTION'", id="trailing-words",
    ),
    pytest.param(
        "# BEGIN  HIDDEN\nx = 1\n# END HIDDEN\n",
        1, "expected exactly '# BEGIN HIDDEN'", id="double-space",
    ),
    pytest.param(
        "# BEGIN HIDDEN\nx = 1\n## END HIDDEN\n",
        3, "expected exactly '# END HIDDEN'", id="double-hash",
    ),
    pytest.param(
        "x = 1  # solution\n",
        1, "expected exactly '# SOLUTION' after a one-line statement", id="one-line-lower",
    ),
    pytest.param(
        "x = 1  #SOLUTION\n",
        1, "expected exactly '# SOLUTION'", id="one-line-no-space",
    ),
    # placement
    pytest.param(
        "x = 1  # BEGIN SOLUTION\ny = 2\n# END SOLUTION\n",
        1, "follows code on the same line", id="begin-after-code",
    ),
    pytest.param(
        "# BEGIN HIDDEN\nx = 1  # END HIDDEN\n",
        2, "'# END HIDDEN' follows code", id="end-after-code",
    ),
    pytest.param(
        "def f():\n    # SOLUTION\n    return 1\n",
        2, "this line has no code", id="one-line-alone",
    ),
    # balance
    pytest.param(
        "x = 1\n# END SOLUTION\n",
        2, "without an open block: expected '# BEGIN SOLUTION'", id="end-without-begin",
    ),
    pytest.param(
        "x = 1\n# BEGIN SOLUTION\ny = 2\n",
        2, "never closed: expected '# END SOLUTION'", id="never-closed",
    ),
    pytest.param(
        "# BEGIN SOLUTION\nx = 1\n# END HIDDEN\n",
        3, "expected '# END SOLUTION'", id="kind-mismatch",
    ),
    # nesting
    pytest.param(
        "# BEGIN SOLUTION\nx = 1\n# BEGIN HIDDEN\ny = 2\n# END HIDDEN\n"
        "# END SOLUTION\n",
        3, "markers cannot nest", id="nested-begin",
    ),
    pytest.param(
        "# BEGIN HIDDEN\n# BEGIN HIDDEN\nx = 1\n# END HIDDEN\n",
        2, "opened at line 1", id="nested-same-kind",
    ),
    pytest.param(
        "# BEGIN SOLUTION\nx = 1  # SOLUTION\n# END SOLUTION\n",
        2, "markers cannot nest", id="one-liner-in-block",
    ),
    # indentation and emptiness
    pytest.param(
        "def f():\n    # BEGIN SOLUTION\n    return 1\n  # END SOLUTION\n",
        4, "indented 2 characters but its '# BEGIN SOLUTION' at line 2 is indented 4", id="end-indent",
    ),
    pytest.param(
        "def f():\n    # BEGIN SOLUTION\n    x = 1\n  # note\n    return x\n"
        "    # END SOLUTION\n",
        4, "indented less than the block's markers", id="content-dedented",
    ),
    pytest.param(
        "x = 1\n# BEGIN SOLUTION\n\n# END SOLUTION\n",
        2, "empty SOLUTION block", id="empty",
    ),
    pytest.param(
        "def f():\n    x = 1\n    # BEGIN HIDDEN\n    # nothing\n"
        "    # END HIDDEN\n",
        3, "empty HIDDEN block", id="only-comments",
    ),
    pytest.param(
        "def f():\n# BEGIN SOLUTION\n    return 1\n# END SOLUTION\n",
        2, "expected '# BEGIN SOLUTION' at the code's indentation", id="markers-less-indented",
    ),
    # whole statements of one body
    pytest.param(
        "# BEGIN SOLUTION\nx = [\n    1,\n# END SOLUTION\n]\n",
        1, "starts inside the block and ends at line 5", id="starts-inside",
    ),
    pytest.param(
        "def f():\n    # BEGIN SOLUTION\n    if True:\n    # END SOLUTION\n"
        "        return 1\n",
        2, "splits the header of the `If` statement at line 3 from its body", id="splits-header",
    ),
    pytest.param(
        "x = [\n    1,\n# BEGIN SOLUTION\n]\ny = 2\n# END SOLUTION\n",
        3, "the `Assign` statement at line 1 starts before the block and ends inside it", id="ends-inside",
    ),
    pytest.param(
        "def f(a):\n    if a:\n        x = 1\n    # BEGIN SOLUTION\n"
        "        y = 2\n    else:\n        z = 3\n    # END SOLUTION\n"
        "        w = 4\n",
        4, "spans two bodies", id="two-suites",
    ),
    pytest.param(
        "total = sum(\n    # BEGIN SOLUTION\n    [1, 2]\n    # END SOLUTION\n"
        ")\n",
        2, "part of the `Assign` statement at line 1", id="inside-expression",
    ),
    pytest.param(
        "x = [\n# BEGIN SOLUTION\n1]\n# END SOLUTION\n",
        2, "part of the `Assign` statement at line 1", id="tail-of-expression",
    ),
    # the one-line form
    pytest.param(
        "for i in range(3):  # SOLUTION\n    pass\n",
        1, "follows the header of the `For` statement", id="one-line-header",
    ),
    pytest.param(
        "y = max(\n    1, 2)  # SOLUTION\n",
        2, "spans several lines", id="one-line-multiline",
    ),
    pytest.param(
        "a = 1; b = 2  # SOLUTION\n",
        1, "holds more than one statement", id="one-line-semicolons",
    ),
    pytest.param(
        "if True: b = 2  # SOLUTION\n",
        1, "holds more than one statement", id="one-line-compound",
    ),
    pytest.param(
        "def f():\n    pass  # SOLUTION\n",
        2, "marks the `Pass` statement", id="one-line-pass",
    ),
    pytest.param(
        "def f():\n    return  # SOLUTION\n",
        2, "`Return` statement without a value", id="one-line-bare-return",
    ),
    pytest.param(
        "x: int  # SOLUTION\n",
        1, "`AnnAssign` statement without a value", id="one-line-annotation",
    ),
    pytest.param(
        "import os  # SOLUTION\n",
        1, "marks the `Import` statement", id="one-line-import",
    ),
    # names the stub would lose
    pytest.param(
        "# BEGIN SOLUTION\ndef helper():\n    return 1\n# END SOLUTION\n\n\n"
        "def f():\n    return helper()\n",
        8, "'helper' is defined only inside the SOLUTION block at lines 1-4", id="function-used-outside",
    ),
    pytest.param(
        "class A:\n    # BEGIN SOLUTION\n    def _h(self):\n"
        "        return 1\n    # END SOLUTION\n\n    def f(self):\n"
        "        return self._h()\n",
        8, "student stub would fail", id="method-used-outside",
    ),
    pytest.param(
        "# BEGIN SOLUTION\nRATE = 0.1\n# END SOLUTION\nprint(RATE)\n",
        4, "'RATE' is defined only inside", id="assigned-used-outside",
    ),
    pytest.param(
        "# BEGIN HIDDEN\nclass Probe:\n    pass\n# END HIDDEN\n"
        "PROBE = Probe()\n",
        5, "'Probe' is defined only inside the HIDDEN block at lines 1-4", id="class-used-outside",
    ),
    pytest.param(
        "# BEGIN HIDDEN\ndef _debug():\n    return 1\n# END HIDDEN\n\n\n"
        "def f():\n    # BEGIN SOLUTION\n    return _debug()\n"
        "    # END SOLUTION\n",
        9, "the complete reference would fail", id="hidden-used-in-solution",
    ),
]


@pytest.mark.parametrize(("source", "line", "fragment"), ERRORS)
def test_errors(source, line, fragment):
    with pytest.raises(MarkerError) as caught:
        parse(source, PATH)
    err = caught.value
    assert (err.path, err.line) == (PATH, line), str(err)
    assert fragment in err.message
    assert str(err).startswith(f"{PATH}:{line}: ")
    assert str(err) == f"{PATH}:{line}: {err.message}"


def test_marker_error_is_a_value_error():
    assert issubclass(MarkerError, ValueError)


@pytest.mark.parametrize("source", [
    pytest.param("# the SOLUTION is to multiply\nx = 1\n", id="prose-comment"),
    pytest.param("x = 1  # a SOLUTION, of sorts\n", id="prose-trailing"),
    pytest.param('TEXT = "# BEGIN SOLUTION"\n', id="in-string"),
    pytest.param('def f():\n    """\n    # BEGIN SOLUTION\n    """\n', id="in-docstring"),
    # also defined outside the block: the stub keeps a definition
    pytest.param("# BEGIN SOLUTION\ndef helper():\n    return 1\n# END SOLUTION\n\n\n"
                 "def helper():\n    return 2\n\n\nprint(helper())\n", id="defined-twice"),
    # a removed dunder falls back to object's
    pytest.param("class A:\n    # BEGIN SOLUTION\n    def __len__(self):\n        return 0\n"
                 "    # END SOLUTION\n\n\nprint(A().__len__())\n", id="dunder"),
])
def test_not_errors(source):
    markup = parse(source, PATH)
    assert markup.one_liners == ()


def test_blocks_in_every_kind_of_body():
    source = textwrap.dedent("""\
        # BEGIN SOLUTION
        @staticmethod
        def helper():
            return 1
        # END SOLUTION


        def f(x):
            try:
                # BEGIN SOLUTION
                y = 1 / x
                # END SOLUTION
            except ZeroDivisionError:
                # BEGIN SOLUTION
                y = 0
                # END SOLUTION
            else:
                # BEGIN SOLUTION
                y += 1
                # END SOLUTION
            finally:
                # BEGIN HIDDEN
                print(x)
                # END HIDDEN
            match x:
                case 0:
                    # BEGIN SOLUTION
                    return y
                    # END SOLUTION
            with open(x) as fh:
                # BEGIN SOLUTION
                return fh.read()
                # END SOLUTION
        """)
    blocks = parse(source, PATH).blocks
    assert [(b.begin, b.scope, b.in_function, b.whole_body) for b in blocks] == [
        (1, "", False, False), (10, "f", True, False), (14, "f", True, False), (18, "f", True, False),
        (22, "f", True, False), (27, "f", True, False), (31, "f", True, False),
    ]
    assert len({b.suite for b in blocks}) == len(blocks)


VALID = textwrap.dedent('''\
    """A module."""

    RATE = 0.1  # SOLUTION


    def top(x):
        """Docstring."""
        # BEGIN SOLUTION
        return x
        # END SOLUTION


    class Dense:
        def forward(self, x):
            if x is None:
                raise ValueError("x")
            # BEGIN SOLUTION
            y = x + 1
            return y
            # END SOLUTION

        def backward(self, j):
            def inner(k):
                # BEGIN SOLUTION
                return k
                # END SOLUTION
            return inner(j)

        # BEGIN HIDDEN
        def _debug(self):
            return self
        # END HIDDEN

        def step(self, lr):
            for w in self.weights:
                # BEGIN SOLUTION

                w -= lr  # the update
                # END SOLUTION
            self.count += 1  # SOLUTION
''')


def test_markup_of_a_valid_source():
    markup = parse(VALID, PATH)
    assert markup.path == PATH
    got = [(b.kind, b.begin, b.end, b.indent, b.scope, b.in_function, b.whole_body) for b in markup.blocks]
    assert got == [
        (Kind.SOLUTION, 8, 10, "    ", "top", True, True),
        (Kind.SOLUTION, 17, 20, "        ", "Dense.forward", True, False),
        (Kind.SOLUTION, 24, 26, "            ", "Dense.backward.inner", True, True),
        (Kind.HIDDEN, 29, 32, "    ", "Dense", False, False),
        (Kind.SOLUTION, 36, 39, "            ", "Dense.step", True, False),
    ]
    assert [(o.line, o.scope) for o in markup.one_liners] == [(3, ""), (40, "Dense.step")]
    assert markup.solution_lines() == {3, 9, 18, 19, 25, 37, 38, 40}


def test_block_suites_tell_a_renderer_when_a_body_empties():
    markup = parse("class A:\n    # BEGIN HIDDEN\n    x = 1\n    # END HIDDEN\n\n\nclass B:\n    y = 2\n"
                   "    # BEGIN SOLUTION\n    z = 3\n    # END SOLUTION\n", PATH)
    first, second = markup.blocks
    assert first.suite != second.suite and 0 not in (first.suite, second.suite)
    assert (first.suite_has_other_code, second.suite_has_other_code) == (False, True)


def test_one_liner_head_and_code():
    markup = parse("def f(a):\n    lo = hi = (min(a, 1))  # SOLUTION\n    return(lo)\t# SOLUTION\n", PATH)
    assert markup.one_liners == (
        OneLiner(2, "f", "    lo = hi = ", "    lo = hi = (min(a, 1))"),
        OneLiner(3, "f", "    return ", "    return(lo)"),
    )


def test_blocks_are_frozen_values():
    block = parse("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", PATH).blocks[0]
    assert block == Block(Kind.SOLUTION, 1, 3, "", "", False, False, 0, False)
    with pytest.raises(AttributeError):
        block.begin = 2  # type: ignore[misc]
