"""Python source as copydetect's filter_code normalizes it, from the stdlib tokenizer (3-4x faster).

copydetect tokenizes with Pygments, which takes most of a run's time (about 0.1 s for a student's 30 kB of
owned code). The standard library's ``tokenize`` gives the same tokens for valid Python several times
faster; code it cannot tokenize (a student's syntax error) goes through Pygments instead. Either way the
result is copydetect's normalization: each name ``V``, a defined function's name ``F``, a class's ``O``,
each string ``S``, keywords, builtins, numbers and operators as written, no whitespace or comments.
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass

import numpy as np
from pygments import lexers, token

_KEPT_NAMES = frozenset(dir(builtins)) | {"self", "cls"}  # Pygments' Name.Builtin(.Pseudo): not renamed
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ splits f-strings into parts
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class Normalized:
    """The normalized text and, for each of its characters, the span of source text it stands for.

    Attributes:
        text: the normalized code.
        starts: ``starts[i]`` is where the source of ``text[i]`` begins (a character offset).
        ends: ``ends[i]`` is where it ends (exclusive).
    """

    text: str
    starts: np.ndarray
    ends: np.ndarray


def normalize(path: str, source: str) -> Normalized:
    """``source`` normalized as copydetect does; Python by the stdlib tokenizer when it can.

    Raises:
        ValueError: ``path`` is not a ``.py`` file (only Python is normalized here).
    """
    if not path.endswith(".py"):
        raise ValueError(f"only Python files are compared. Received: {path!r}")
    try:
        pieces = list(_stdlib_pieces(source))
    except (tokenize.TokenError, SyntaxError):
        pieces = list(_pygments_pieces(source))
    text, starts, ends = [], [], []
    for start, end, piece, verbatim in pieces:
        text.append(piece)
        for i in range(len(piece)):
            starts.append(start + i if verbatim else start)
            ends.append(start + i + 1 if verbatim else end)
    return Normalized("".join(text), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))


def _stdlib_pieces(source: str):
    """``(start, end, piece, verbatim)`` per kept token, from ``tokenize``."""
    line_starts = [0]
    for line in io.StringIO(source):
        line_starts.append(line_starts[-1] + len(line))
    previous, depth, fstring_at = "", 0, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        start = line_starts[tok.start[0] - 1] + tok.start[1]
        end = line_starts[tok.end[0] - 1] + tok.end[1]
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            depth, fstring_at = depth + 1, start if depth == 0 else fstring_at
            continue
        if depth:
            if tok.type == _FSTRING_END:
                depth -= 1
                if depth == 0:
                    yield fstring_at, end, "S", False
                    previous = "S"
            continue
        if tok.type in _SKIPPED:
            continue
        if tok.type == tokenize.NAME:
            piece = _name(tok.string, previous)
        elif tok.type == tokenize.STRING:
            piece = "S"
        else:
            piece = tok.string
        yield start, end, piece, piece == tok.string
        previous = tok.string


def _name(name: str, previous: str) -> str:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) and name != "_" or name in _KEPT_NAMES:
        return name
    return {"def": "F", "class": "O"}.get(previous, "V")


def _pygments_pieces(source: str):
    """The same from Pygments' lexer, as copydetect's filter_code maps its token types."""
    lexer = lexers.get_lexer_by_name("python")
    for start, kind, value in lexer.get_tokens_unprocessed(source):
        end = start + len(value)
        if kind in (token.Name, token.Name.Variable, token.Name.Attribute, token.Name.Namespace):
            yield start, end, "V", False
        elif kind in token.Name.Function:
            yield start, end, "F", False
        elif kind in token.Name.Class:
            yield start, end, "O", False
        elif kind in token.Text or kind in token.Comment:
            continue
        elif kind in token.Literal.String:
            if value not in ("'", '"'):
                yield start, end, "S", False
        else:
            yield start, end, value, True
