"""The solution-marker grammar: find, validate and describe the marked regions of a reference source."""

from __future__ import annotations

import ast
import enum
import io
import tokenize
from dataclasses import dataclass


class Kind(enum.Enum):
    """What a block holds: code students write, or author-only code no release contains."""

    SOLUTION = "SOLUTION"
    HIDDEN = "HIDDEN"


BEGIN = {Kind.SOLUTION: "# BEGIN SOLUTION", Kind.HIDDEN: "# BEGIN HIDDEN"}
END = {Kind.SOLUTION: "# END SOLUTION", Kind.HIDDEN: "# END HIDDEN"}
ONE_LINE = "# SOLUTION"
# Longest first, so that "BEGIN SOLUTION" is not taken for a misspelt "SOLUTION".
_FORMS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "END HIDDEN", "SOLUTION")
_ONE_LINE_TYPES = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)
_ONE_LINE_HELP = ("the one-line form marks an assignment, an annotated assignment with a value, an "
                  "augmented assignment, a `return` with a value or an expression statement")
_WHOLE = "a block must hold whole statements"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER}


class MarkerError(ValueError):
    """A marker that is malformed, misplaced, or would make a rendering fail.

    Attributes:
        path: the file, as given to ``parse``.
        line: the 1-based line to fix.
        message: what is wrong and what was expected.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass(frozen=True)
class Block:
    """A ``# BEGIN …`` / ``# END …`` pair and the whole statements between them.

    ``suite`` and ``suite_has_other_code`` let a renderer keep a body non-empty: blocks with
    equal ``suite`` lie in the same body (0 is the module's), and ``suite_has_other_code``
    says whether that body holds a statement (not counting a docstring) outside every block.
    """

    kind: Kind
    begin: int
    end: int
    indent: str
    scope: str
    in_function: bool
    whole_body: bool
    suite: int = 0
    suite_has_other_code: bool = True


@dataclass(frozen=True)
class OneLiner:
    """A single-line statement marked with a trailing ``# SOLUTION``.

    ``head`` is the text a stub keeps before the marked value (indentation, target and
    operator, or ``return``; the indentation alone for an expression); ``code`` is the line
    without the marker comment and the whitespace before it.
    """

    line: int
    scope: str
    head: str = ""
    code: str = ""


@dataclass(frozen=True)
class Markup:
    """Everything marked in one source file, in line order."""

    path: str
    blocks: tuple[Block, ...]
    one_liners: tuple[OneLiner, ...]

    def solution_lines(self) -> set[int]:
        """Return the lines students write: solution-block content (markers excluded) and one-liners."""
        lines = {o.line for o in self.one_liners}
        for block in self.blocks:
            if block.kind is Kind.SOLUTION:
                lines.update(range(block.begin + 1, block.end))
        return lines


def split_lines(source: str) -> list[str]:
    """Split ``source`` into physical lines, keeping their endings, as the tokenizer counts them."""
    return io.StringIO(source, newline="").readlines()


def leading_space(line: str) -> str:
    """Return the indentation of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t\f"))]


@dataclass
class _Suite:
    index: int  # 0 for the module's body
    owner: ast.AST  # Module, a compound statement, an ExceptHandler or a match_case
    stmts: list
    docstring: bool


@dataclass(frozen=True)
class _Comment:
    line: int
    col: int  # in characters, as tokenize counts
    text: str
    own_line: bool


class _Source:
    """The parsed tree, tokens and line tables that every check reads."""

    def __init__(self, source: str, path: str) -> None:
        self.path = path
        try:
            self.tree = ast.parse(source, filename=path)
            tokens = list(tokenize.generate_tokens(io.StringIO(source, newline="").readline))
        except SyntaxError as exc:
            raise MarkerError(path, exc.lineno or 1, f"not valid Python: {exc.msg}") from exc
        except ValueError as exc:  # null bytes, before 3.12
            raise MarkerError(path, 1, f"not valid Python: {exc}") from exc
        self.lines = split_lines(source)
        self.code_rows: set[int] = set()
        self.string_rows: set[int] = set()  # inner lines of multi-line strings: data, not layout
        self.comments: list[_Comment] = []
        for tok in tokens:
            if tok.type == tokenize.COMMENT:
                own_line = not self.text(tok.start[0])[: tok.start[1]].strip()
                self.comments.append(_Comment(*tok.start, tok.string.rstrip(), own_line))
            elif tok.type not in _NOT_CODE:
                self.code_rows.update(range(tok.start[0], tok.end[0] + 1))
                self.string_rows.update(range(tok.start[0] + 1, tok.end[0] + 1))
        self.n_suites = 0
        self.suite_of: dict[int, _Suite] = {}  # id(statement) -> the body holding it
        self.up: dict[int, ast.AST] = {}  # id(handler or case) -> its Try or Match
        self.spans: list[tuple[int, int, ast.AST]] = []  # (first line, last line, node), decorators included
        self._add_suite(self.tree, self.tree.body)

    def text(self, row: int) -> str:
        """Return line ``row`` (1-based) without its ending."""
        return self.lines[row - 1].rstrip("\r\n") if row <= len(self.lines) else ""

    def _add_suite(self, owner: ast.AST, stmts: list) -> None:
        first = stmts[0] if stmts else None
        docstring = (isinstance(owner, (ast.Module, ast.ClassDef, *_FUNCTIONS))
                     and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                     and isinstance(first.value.value, str))
        suite, self.n_suites = _Suite(self.n_suites, owner, stmts, docstring), self.n_suites + 1
        for stmt in stmts:
            self.suite_of[id(stmt)] = suite
            starts = [stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))]
            self.spans.append((min(starts), stmt.end_lineno, stmt))
            for field in ("body", "orelse", "finalbody"):
                child = getattr(stmt, field, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                    self._add_suite(stmt, child)
            for part in [*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
                self.up[id(part)] = stmt
                start = part.lineno if isinstance(part, ast.ExceptHandler) else part.pattern.lineno
                self.spans.append((start, part.body[-1].end_lineno, part))
                self._add_suite(part, part.body)

    def parent(self, node: ast.AST) -> ast.AST:
        """Return the node whose body holds ``node`` (a statement, handler or case)."""
        return self.up[id(node)] if id(node) in self.up else self.suite_of[id(node)].owner

    def scope(self, suite: _Suite) -> tuple[str, bool]:
        """Return the qualified name of the def/class around ``suite`` and whether it is a function."""
        names, node, in_function = [], suite.owner, None
        while not isinstance(node, ast.Module):
            if isinstance(node, (ast.ClassDef, *_FUNCTIONS)):
                names.append(node.name)
                in_function = isinstance(node, _FUNCTIONS) if in_function is None else in_function
            node = self.parent(node)
        return ".".join(reversed(names)), bool(in_function)

    def fail(self, line: int, message: str) -> MarkerError:
        """Return the error to raise for ``line``."""
        return MarkerError(self.path, line, message)


def parse(source: str, path: str) -> Markup:
    """Find and validate every marker in ``source``.

    Args:
        source: the text of a Python file with solution markers.
        path: the name to report in errors.

    Returns:
        The blocks and one-liners, in line order.

    Raises:
        MarkerError: for a source that does not parse, a malformed or misplaced marker, or a
            marking whose rendering would not parse or would fail at run time.
    """
    src = _Source(source, path)
    raw_blocks, one_lines = _pair_markers(src)
    held = [_block_statements(src, *raw) for raw in raw_blocks]
    covered = {id(stmt) for stmts in held for stmt in stmts}
    blocks = []
    for (kind, begin, end, indent), stmts in zip(raw_blocks, held):
        suite = src.suite_of[id(stmts[0])]
        scope, in_function = src.scope(suite)
        body = {id(s) for s in (suite.stmts[1:] if suite.docstring else suite.stmts)}
        whole_body = isinstance(suite.owner, _FUNCTIONS) and body <= {id(s) for s in stmts}
        blocks.append(Block(kind, begin, end, indent, scope, in_function, whole_body, suite.index,
                            bool(body - covered)))
    one_liners = tuple(_one_liner(src, comment) for comment in one_lines)
    _check_references(src, blocks)
    return Markup(path, tuple(blocks), one_liners)


def _marker_form(src: _Source, comment: _Comment) -> str | None:
    """Return the form ``comment`` spells ("BEGIN SOLUTION", …), None for a prose comment."""
    loose = " ".join(comment.text.upper().replace("#", " ").split())
    form = next((f for f in _FORMS if loose.startswith(f)), None)
    if form is None:
        return None
    canonical, row = "# " + form, comment.line
    if comment.text != canonical:
        where = "after a one-line statement" if form == "SOLUTION" else "on a line of its own"
        raise src.fail(row, f"malformed marker {comment.text!r}: expected exactly {canonical!r} {where}")
    if form == "SOLUTION" and comment.own_line:
        raise src.fail(row, f"{ONE_LINE!r} marks the statement before it on the same line, but this line "
                       f"has no code: put it after a statement, or use {BEGIN[Kind.SOLUTION]!r} / "
                       f"{END[Kind.SOLUTION]!r} around several lines")
    if form != "SOLUTION" and not comment.own_line:
        raise src.fail(row, f"{canonical!r} follows code on the same line: expected it on a line of its "
                       "own, with only indentation before it")
    return form


def _pair_markers(src: _Source) -> tuple[list[tuple[Kind, int, int, str]], list[_Comment]]:
    """Match BEGIN/END markers into (kind, begin, end, indent) and collect one-line markers."""
    pairs, one_lines, open_at = [], [], None  # open_at: (kind, line, indent) of the open block
    for comment in src.comments:
        form, row = _marker_form(src, comment), comment.line
        if form is None:
            continue
        if open_at and not form.startswith("END"):
            what = ONE_LINE if form == "SOLUTION" else "# " + form
            raise src.fail(row, f"{what!r} inside the {open_at[0].value} block opened at line {open_at[1]}: "
                           f"markers cannot nest; expected {END[open_at[0]]!r} first")
        if form == "SOLUTION":
            one_lines.append(comment)
            continue
        verb, kind = form.split()[0], Kind(form.split()[1])
        indent = leading_space(src.text(row))
        if verb == "BEGIN":
            open_at = (kind, row, indent)
            continue
        if open_at is None:
            raise src.fail(row, f"{END[kind]!r} without an open block: expected {BEGIN[kind]!r} before it")
        open_kind, begin, begin_indent = open_at
        if open_kind is not kind:
            raise src.fail(row, f"{END[kind]!r} closes the {open_kind.value} block opened at line {begin}: "
                           f"expected {END[open_kind]!r}")
        if indent != begin_indent:
            raise src.fail(row, f"{END[kind]!r} is indented {len(indent)} characters but its {BEGIN[kind]!r} "
                           f"at line {begin} is indented {len(begin_indent)}: expected the same")
        pairs.append((kind, begin, row, indent))
        open_at = None
    if open_at:
        raise src.fail(open_at[1], f"{BEGIN[open_at[0]]!r} is never closed: expected {END[open_at[0]]!r} "
                       "at the same indentation")
    return pairs, one_lines


def _what(node: ast.AST) -> str:
    """Name a statement for a message: "the `If` statement"."""
    return f"the `{type(node).__name__}` statement"


def _block_statements(src: _Source, kind: Kind, begin: int, end: int, indent: str) -> list[ast.stmt]:
    """Check a block's layout and return the whole statements it holds (outermost only).

    Raises:
        MarkerError: for an empty block, content indented less than the markers, or a block
            that does not hold a run of whole statements of one body at the markers' indentation.
    """
    _check_layout(src, kind, begin, end, indent)
    inside, enclosing, tails = _spans_around(src, kind, begin, end)
    stmts = [node for _, _, node in src.spans if id(node) in inside and isinstance(node, ast.stmt)
             and id(src.suite_of[id(node)].owner) not in inside]
    if not stmts:
        start, _, node = max(enclosing + tails, key=lambda span: span[0])
        raise src.fail(begin, f"the code between the markers is part of {_what(node)} at line {start}, not "
                       "whole statements: put the markers between statements")
    suites = {src.suite_of[id(s)].index: s.lineno for s in reversed(stmts)}
    if len(suites) > 1:
        first, second = sorted(suites.values())[:2]
        raise src.fail(begin, f"the block spans two bodies (the statements at lines {first} and {second} "
                       "belong to different suites): expected consecutive statements of one body")
    _check_tails(src, begin, stmts, tails)
    held = {id(s) for s in stmts}
    code_indent = leading_space(src.text(min(start for start, _, node in src.spans if id(node) in held)))
    if code_indent != indent:
        raise src.fail(begin, f"the markers are indented {len(indent)} characters but the code they hold "
                       f"{len(code_indent)}: expected {BEGIN[kind]!r} at the code's indentation")
    return stmts


def _check_layout(src: _Source, kind: Kind, begin: int, end: int, indent: str) -> None:
    """Refuse an empty block and content indented less than its markers."""
    inner = range(begin + 1, end)
    if not any(row in src.code_rows for row in inner):
        raise src.fail(begin, f"empty {kind.value} block: expected code between {BEGIN[kind]!r} and "
                       f"{END[kind]!r} at line {end}")
    for row in inner:
        line = src.text(row)
        if line.strip() and row not in src.string_rows and not leading_space(line).startswith(indent):
            raise src.fail(row, f"line indented less than the block's markers (line {begin}): expected every "
                           f"line of the block at least as indented as {BEGIN[kind]!r}")


def _spans_around(src: _Source, kind: Kind, begin: int, end: int) -> tuple[set[int], list, list]:
    """The statements inside the block (ids), those enclosing it, and those that end inside it.

    Raises:
        MarkerError: for a statement that starts inside the block and ends after it.
    """
    inside, enclosing, tails = set(), [], []  # tails: statements that end inside the block
    for start, stop, node in src.spans:
        if stop < begin or start > end:
            continue
        if begin < start and stop < end:
            inside.add(id(node))
        elif start < begin:
            (enclosing if stop > end else tails).append((start, stop, node))
        elif (body := getattr(node, "body", None)) and isinstance(body, list) and body[0].lineno > end:
            raise src.fail(begin, f"the block splits the header of {_what(node)} at line {start} from its "
                           "body: expected the whole statement inside the block, or the block inside its "
                           "body")
        else:
            raise src.fail(begin, f"{_what(node)} at line {start} starts inside the block and ends at line "
                           f"{stop}, after {END[kind]!r} at line {end}: {_WHOLE}")
    return inside, enclosing, tails


def _check_tails(src: _Source, begin: int, stmts: list[ast.stmt], tails: list) -> None:
    """Refuse a statement that starts before the block and ends inside it, unless it holds the block."""
    # A compound statement may end inside the block (the block ends its last body) as long as
    # the block's statements lie in it; otherwise it began outside and the block cuts it.
    ancestors, node = set(), src.suite_of[id(stmts[0])].owner
    while not isinstance(node, ast.Module):
        ancestors.add(id(node))
        node = src.parent(node)
    for start, stop, node in tails:
        if id(node) not in ancestors:
            raise src.fail(begin, f"{_what(node)} at line {start} starts before the block and ends inside "
                           f"it, at line {stop}: {_WHOLE}")


def _one_liner(src: _Source, comment: _Comment) -> OneLiner:
    """Validate the statement a trailing ``# SOLUTION`` marks and describe it.

    Raises:
        MarkerError: for a compound statement, a statement over several lines, several
            statements on the line, or a statement of another type.
    """
    row = comment.line
    around = [span for span in src.spans if isinstance(span[2], ast.stmt) and span[0] <= row <= span[1]]
    simple = [span for span in around if not hasattr(span[2], "body")]
    if not simple:
        start, _, node = max(around, key=lambda span: span[0])
        raise src.fail(row, f"{ONE_LINE!r} follows the header of {_what(node)} at line {start}: "
                       f"{_ONE_LINE_HELP}")
    for start, stop, node in simple:
        if start != stop:
            raise src.fail(row, f"{ONE_LINE!r} marks {_what(node)} at lines {start}-{stop}, which spans "
                           "several lines: expected a statement on one line, or a "
                           f"{BEGIN[Kind.SOLUTION]!r} block")
    if sum(start == row for start, _, _ in around) > 1:
        raise src.fail(row, f"line {row} holds more than one statement: {ONE_LINE!r} marks exactly one")
    node, line = simple[0][2], src.text(row)
    value = getattr(node, "value", None)
    if not isinstance(node, _ONE_LINE_TYPES) or value is None:
        without = " without a value" if isinstance(node, (ast.AnnAssign, ast.Return)) else ""
        raise src.fail(row, f"{ONE_LINE!r} marks {_what(node)}{without}: {_ONE_LINE_HELP}")
    if isinstance(node, ast.Expr):
        head = leading_space(line)
    else:
        # ast columns count UTF-8 bytes. Step back over parentheses around the value, so that
        # `y = (a + b)` keeps `y = `, not `y = (`.
        at = cut = len(line.encode()[: value.col_offset].decode())
        while cut and line[cut - 1] in " \t(":
            cut -= 1
        while cut < at and line[cut] in " \t":
            cut += 1
        head = line[:cut] + (" " if line[:cut][-1:].isalnum() else "")
    return OneLiner(row, src.scope(src.suite_of[id(node)])[0], head, line[: comment.col].rstrip())


def _definitions(stmts: list, out: list[tuple[str, int]]) -> None:
    """Append (name, line) for each name bound at module or class level, not looking inside functions."""
    for stmt in stmts:
        targets = [getattr(stmt, "target", None), *getattr(stmt, "targets", ()),
                   *(item.optional_vars for item in getattr(stmt, "items", ()))]
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            targets = []  # an annotation alone binds nothing
        out.extend((n.id, stmt.lineno) for t in targets if t for n in ast.walk(t) if isinstance(n, ast.Name))
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out.extend(((a.asname or a.name).split(".")[0], stmt.lineno) for a in stmt.names)
        if isinstance(stmt, (ast.ClassDef, *_FUNCTIONS)):
            out.append((stmt.name, stmt.lineno))
        if isinstance(stmt, _FUNCTIONS):
            continue
        for part in [stmt, *getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(child := getattr(part, field, None), list):
                    _definitions(child, out)


def _check_references(src: _Source, blocks: list[Block]) -> None:
    """Refuse a name defined only inside removed code but used where a rendering keeps the use.

    Scope-blind on purpose: a false alarm costs the author a rename, a miss costs every
    student a stub that fails at run time.

    Raises:
        MarkerError: at the first such use.
    """
    def block_at(row: int) -> Block | None:  # the block whose content holds ``row``
        return next((b for b in blocks if b.begin < row < b.end), None)

    found: list[tuple[str, int]] = []
    _definitions(src.tree.body, found)
    defined: dict[str, list[Block | None]] = {}
    for name, row in found:
        defined.setdefault(name, []).append(block_at(row))
    removed = {name: places for name, places in defined.items() if None not in places}
    uses = []
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            uses.append((node.lineno, node.id))
        # A dunder removed from a class falls back to object's, so no stub fails on it.
        elif (isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store)
              and not (node.attr.startswith("__") and node.attr.endswith("__"))):
            uses.append((node.end_lineno, node.attr))
    for row, name in sorted(uses):
        if name not in removed:
            continue
        home, where = removed[name][0], block_at(row)
        span = f"the {home.kind.value} block at lines {home.begin}-{home.end}"
        if where is None:
            raise src.fail(row, f"{name!r} is defined only inside {span} but used here, outside every block: "
                           "the student stub would fail with NameError or AttributeError; define it outside "
                           "the block, or move this use into a block")
        if where.kind is Kind.SOLUTION and all(b.kind is Kind.HIDDEN for b in removed[name]):
            raise src.fail(row, f"{name!r} is defined only inside hidden code ({span}) but used here, in a "
                           "SOLUTION block: the complete reference would fail with NameError or "
                           "AttributeError; define it outside the HIDDEN block")
