"""Render a marked reference source as the student stub or as the complete reference."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

from grader.authoring import markers
from grader.authoring.markers import Block, Kind, Markup, OneLiner

HELPERS_TODO = "# TODO: add any helpers you need here"
BlockText = Callable[[Block], "list[str] | None"]
OneLinerText = Callable[[OneLiner], str]


class RenderError(RuntimeError):
    """A rendering that is not valid Python: a bug in this module, never in the marked source."""


@dataclass(frozen=True)
class Rendered:
    """A rendered file and, per output line, the 1-based source line it came from (None: generated)."""

    text: str
    origin: tuple[int | None, ...]


@dataclass(frozen=True)
class StubbedCode:
    """Code a student must write: where it sits (``scope``) and its source lines."""

    qualname: str
    lines: tuple[int, ...]


def render_stub(source: str, path: str) -> Rendered:
    """Render the starter code students receive.

    Args:
        source: a marked reference file.
        path: its name, for errors.

    Returns:
        The stub: solution code replaced by ``raise NotImplementedError`` (or ``...`` for a
        one-liner), hidden code removed, everything else unchanged.

    Raises:
        MarkerError: if ``source``'s markers are invalid, or the stub would not compile.
        RenderError: if the stub does not parse (a bug).
    """
    return render_with(source, path, lambda block: _replacement(block, True),
                       lambda one: one.head + "...  # TODO", "student stub")


def render_complete(source: str, path: str) -> Rendered:
    """Render the complete reference without markers and without hidden code.

    Args:
        source: a marked reference file.
        path: its name, for errors.

    Returns:
        The source with marker lines and ``# SOLUTION`` comments removed and hidden blocks dropped.

    Raises:
        MarkerError: if ``source``'s markers are invalid, or the rendering would not compile.
        RenderError: if the rendering does not parse (a bug).
    """
    return render_with(source, path, lambda block: _replacement(block, False), lambda one: one.code,
                       "complete reference")


def render_one_stubbed(source: str, path: str, qualname: str) -> Rendered:
    """Render the complete reference with only the student code of one function stubbed.

    The blast-radius check grades this: what one unfinished (or wrong) unit costs.

    Args:
        source: a marked reference file.
        path: its name, for errors.
        qualname: the def/class whose solution blocks and one-liners become the student stub's.

    Raises:
        MarkerError: if ``source``'s markers are invalid, or the rendering would not compile.
        RenderError: if the rendering does not parse (a bug).
    """
    def block_text(block: Block) -> list[str] | None:
        mine = block.kind is Kind.SOLUTION and block.in_function and block.scope == qualname
        return _replacement(block, mine)

    return render_with(source, path, block_text,
                       lambda one: one.head + "...  # TODO" if one.scope == qualname else one.code,
                       f"reference with {qualname} stubbed")


def stubbed_code(source: str, path: str) -> list[StubbedCode]:
    """List the code a student must write, in line order.

    Solution blocks at class or module level are left out: they hold helpers the student
    may write as they like, and no test can ask for them by name.

    Args:
        source: a marked reference file.
        path: its name, for errors.

    Returns:
        One entry per solution block inside a function and per one-liner.

    Raises:
        MarkerError: if ``source``'s markers are invalid.
    """
    markup = markers.parse(source, path)
    code_rows = set()
    for tok in tokenize.generate_tokens(io.StringIO(source, newline="").readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
            code_rows.update(range(tok.start[0], tok.end[0] + 1))
    found = [(b.begin, StubbedCode(b.scope, tuple(r for r in range(b.begin + 1, b.end) if r in code_rows)))
             for b in markup.blocks if b.kind is Kind.SOLUTION and b.in_function]
    found += [(o.line, StubbedCode(o.scope, (o.line,))) for o in markup.one_liners]
    return [entry for _, entry in sorted(found, key=lambda pair: pair[0])]


def _replacement(block: Block, stub: bool) -> list[str] | None:
    """Return the generated lines that stand for ``block`` (without endings), None to keep its content."""
    if block.kind is Kind.HIDDEN:
        return []
    if not stub:
        return None
    raise_line = f'raise NotImplementedError("{block.scope}")'
    if block.whole_body:
        return [raise_line]
    if block.in_function:
        return [f"# TODO: implement {block.scope}", raise_line]
    return [HELPERS_TODO]


def _needs_pass(markup: Markup, replacement: BlockText) -> set[int]:
    """Return the END lines after which a ``pass`` keeps an otherwise empty body valid.

    A body needs one when none of its statements outlives the rendering; the module's body
    (suite 0) may be empty.
    """
    by_suite: dict[int, list[Block]] = {}
    for block in markup.blocks:
        if block.suite and not block.suite_has_other_code:
            by_suite.setdefault(block.suite, []).append(block)
    ends = set()
    for blocks in by_suite.values():
        rendered = [replacement(b) for b in blocks]
        if not any(r is None or any(not text.startswith("#") for text in r) for r in rendered):
            ends.add(max(b.end for b in blocks))
    return ends


def render_with(source: str, path: str, replacement: BlockText, one_liner: OneLinerText,
                what: str) -> Rendered:
    """Render ``source`` with each block's and each one-liner's text chosen by the caller.

    Args:
        source: a marked reference file.
        path: its name, for errors.
        replacement: the lines (without indentation or endings) that stand for a block, None to keep
            its content; a hidden block's must be ``[]``.
        one_liner: the text of a marked line (indentation included, no ending).
        what: how errors name the rendering ("student stub").

    Raises:
        MarkerError: if ``source``'s markers are invalid, or the rendering would not compile.
        RenderError: if the rendering does not parse.
    """
    markup = markers.parse(source, path)
    lines = markers.split_lines(source)
    newline = next((ln[len(ln.rstrip("\r\n")):] for ln in lines if ln.endswith(("\n", "\r"))), "\n")
    begins, ends = {b.begin: b for b in markup.blocks}, {b.end: b for b in markup.blocks}
    one_liners = {o.line: o for o in markup.one_liners}
    add_pass = _needs_pass(markup, replacement)
    out: list[str] = []
    origin: list[int | None] = []
    skip_to = 0  # last line of a block whose content is not copied
    for row, line in enumerate(lines, start=1):
        if row <= skip_to:
            continue
        block = begins.get(row)
        if block is not None:
            generated = replacement(block)
            if generated is not None:
                skip_to = block.end
                generated += ["pass"] if block.end in add_pass else []
                out += [block.indent + text + newline for text in generated]
                origin += [None] * len(generated)
            continue
        if row in ends:
            if row in add_pass:
                out.append(ends[row].indent + "pass" + newline)
                origin.append(None)
            continue
        marked = one_liners.get(row)
        if marked is not None:
            ending = line[len(line.rstrip("\r\n")):]
            line = one_liner(marked) + ending
        out.append(line)
        origin.append(row)
    if lines and not lines[-1].endswith(("\n", "\r")) and out and out[-1].endswith(("\n", "\r")):
        # The source had no final newline: neither has its rendering (a blank last line goes).
        out[-1] = out[-1].rstrip("\r\n")
        if not out[-1]:
            del out[-1], origin[-1]
    rendered = Rendered("".join(out), tuple(origin))
    _check_compiles(rendered, path, what)
    return rendered


def _check_compiles(rendered: Rendered, path: str, what: str) -> None:
    """Make sure ``rendered`` compiles.

    A rendering that does not parse is a bug here: the grammar guarantees whole statements.
    One that parses but does not compile lost a binding the rest of the file needs (say a
    variable a nested function declares ``nonlocal``, bound only inside a removed block):
    that is the marking's fault, reported at the source line.

    Raises:
        RenderError: for a rendering that does not parse.
        MarkerError: for one that parses but does not compile.
    """
    try:
        ast.parse(rendered.text, filename=path)
    except SyntaxError as exc:
        raise RenderError(f"{path}: the rendered {what} does not parse (line {exc.lineno}: {exc.msg}); "
                          "this is a bug in grader.authoring.stubs, not in the markers") from exc
    try:
        compile(rendered.text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        row = exc.lineno or 1
        line = rendered.origin[row - 1] if row <= len(rendered.origin) else None
        raise markers.MarkerError(path, line or 1, f"the {what} would not compile: {exc.msg}; expected every "
                                  "name this line needs to be bound outside the removed blocks") from exc
