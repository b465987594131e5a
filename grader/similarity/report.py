"""The offline HTML report: flagged pairs by score, each file side by side with the matched lines marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from grader.similarity.model import LineRange, PairResult, Submission

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table.pairs { border-collapse: collapse; margin-bottom: 2rem; }
table.pairs td, table.pairs th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
.side pre { margin: 0; font-size: .8rem; overflow-x: auto; border: 1px solid #ddd; }
.side span { display: block; white-space: pre; }
.side span.hit { background: #ffe08a; }
.side span i { color: #999; font-style: normal; display: inline-block; width: 3.5em; }
section.pair { margin-bottom: 2.5rem; }
"""


def render_report(pairs: Sequence[PairResult], submissions: Mapping[str, Submission], threshold: float,
                  title: str) -> str:
    """A self-contained HTML page (inline style, no scripts, no external assets) of the flagged pairs.

    Args:
        pairs: the flagged pairs (with their matched files), highest score first.
        submissions: every submission by name, for the text shown side by side.
        threshold: the threshold used, stated on the page.
        title: the page's heading, e.g. the assignment's name.
    """
    rows = "".join(
        f"<tr><td><a href='#pair-{n}'>{n}</a></td><td>{escape(p.a)}</td><td>{escape(p.b)}"
        f"{' (archive)' if p.b_archived else ''}</td><td>{p.score:.0%}</td><td>{p.score_ab:.0%}</td>"
        f"<td>{p.score_ba:.0%}</td></tr>" for n, p in enumerate(pairs, 1))
    table = ("<table class='pairs'><tr><th>#</th><th>a</th><th>b</th><th>score</th><th>a in b</th>"
             f"<th>b in a</th></tr>{rows}</table>") if pairs else "<p>No pair reaches the threshold.</p>"
    sections = "".join(_pair_section(n, p, submissions) for n, p in enumerate(pairs, 1))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Similarity: {escape(title)}"
            f"</title><style>{_STYLE}</style></head><body><h1>Similarity: {escape(title)}</h1>"
            f"<p>{len(pairs)} pair{'' if len(pairs) == 1 else 's'} at or above {threshold:.0%}; the "
            "starter's code is excluded. A high score is a reason to look, not proof of copying.</p>"
            f"{table}{sections}</body></html>")


def _pair_section(n: int, pair: PairResult, submissions: Mapping[str, Submission]) -> str:
    parts = [f"<section class='pair' id='pair-{n}'><h2>{n}. {escape(pair.a)} and {escape(pair.b)}: "
             f"{pair.score:.0%}</h2>"]
    for match in pair.files:
        left = submissions[pair.a].files.get(match.path, "")
        right = submissions[pair.b].files.get(match.path, "")
        parts.append(f"<h3>{escape(match.path)}</h3><div class='side'><pre>{_numbered(left, match.lines_a)}"
                     f"</pre><pre>{_numbered(right, match.lines_b)}</pre></div>")
    parts.append("</section>")
    return "".join(parts)


def _numbered(text: str, ranges: Sequence[LineRange]) -> str:
    """Each line in a span, numbered, those inside ``ranges`` marked as matched."""
    hit = {line for first, last in ranges for line in range(first, last + 1)}
    marked = " class='hit'"
    return "".join(f"<span{marked if n in hit else ''}><i>{n}</i>{escape(line)}</span>"
                   for n, line in enumerate(text.splitlines(), 1))
