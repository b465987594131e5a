"""Server-side SVG charts of an assignment report (matplotlib, no pyplot), ready to embed inline in HTML."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

from grader.reports.assignment import AssignmentReport

EMPTY = "No graded submissions yet"
MAX_TEST_BARS = 30
LABEL_CHARS = 48
# Text as <text> (searchable, accessible, a fraction of the size of glyph outlines); a fixed hash salt makes
# matplotlib's clip-path ids, and so the whole file, the same for the same input. Every text drawn is written
# by people (titles, group and test names): never parsed as $math$ or TeX, which fails on a stray "$\x$".
_RC = {"svg.fonttype": "none", "svg.hashsalt": "beras-grader-reports", "text.parse_math": False,
       "text.usetex": False, "font.size": 9,
       "font.family": "sans-serif",
       "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
       "axes.spines.top": False, "axes.spines.right": False}
# rc_context changes matplotlib's process-wide rcParams while it is open: one chart at a time.
_LOCK = threading.Lock()
_BAR, _LINE, _INK = "#3b6ea5", "#c0392b", "#333333"


def score_histogram_svg(report: AssignmentReport) -> str:
    """A histogram of the graded students' final scores, with the median marked.

    Args:
        report: an assignment report.

    Returns:
        An ``<svg>`` element (no XML declaration) with ``role="img"``, an ``aria-label`` and a ``<title>``; a
        small one saying there are no graded submissions yet when nobody was graded.
    """
    name = report.title or report.name
    if not report.scores:
        return empty_svg(f"Score histogram for {name}: no graded submissions yet.")
    bins = ", ".join(f"{b.low:g} to {b.high:g}: {b.count}" for b in report.histogram)
    label = (f"Histogram of final scores for {name}: {len(report.scores)} graded students, "
             f"mean {report.mean:.4g}, median {report.median:.4g}, out of {report.max_score:g}. "
             f"Students per score range: {bins}.")

    def draw(figure) -> None:
        axes = figure.add_subplot()
        lows = [b.low for b in report.histogram]
        widths = [b.high - b.low for b in report.histogram]
        bars = axes.bar(lows, [b.count for b in report.histogram], width=widths, align="edge", color=_BAR,
                        edgecolor="white", linewidth=0.8)
        axes.bar_label(bars, labels=[str(b.count) if b.count else "" for b in report.histogram], padding=2,
                       color=_INK)
        axes.axvline(report.median, color=_LINE, linestyle="--", linewidth=1.2,
                     label=f"median {report.median:g}")
        axes.set_xticks([*lows, report.histogram[-1].high])
        axes.set_xticklabels([f"{edge:g}" for edge in [*lows, report.histogram[-1].high]])
        axes.set_xlim(report.histogram[0].low, report.histogram[-1].high)
        axes.set_ylim(0, max(b.count for b in report.histogram) * 1.15 + 0.5)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel(f"Final score (after late penalties), out of {report.max_score:g}")
        axes.set_ylabel("Students")
        # The page names the assignment; a long title here would run past the figure's edge.
        axes.set_title(f"{len(report.scores)} graded students, mean {report.mean:.4g}", loc="left")
        axes.legend(frameon=False, loc="upper left")

    return _render(draw, (6.4, 3.2), (0.6, 0.15, 0.35, 0.5), label, "hist")


def pass_rate_svg(report: AssignmentReport, max_tests: int = MAX_TEST_BARS, by: str = "group") -> str:
    """Horizontal bars of pass rates, lowest first, each labelled with its percentage.

    ``by="group"`` charts the points groups when the tests have them (every test is listed in the page's
    table); otherwise, or with ``by="test"``, the tests: the ``max_tests`` lowest when there are more, so the
    chart stays readable with 60+ tests.

    Args:
        report: an assignment report.
        max_tests: the most tests charted.
        by: ``group`` or ``test``.

    Returns:
        An ``<svg>`` element as ``score_histogram_svg`` returns; the empty one when nothing was graded.
    """
    name = report.title or report.name
    if report.groups and by == "group":
        items = sorted(((_trim(g.group), g.rate) for g in report.groups), key=lambda item: item[1])
        title, note = f"{name}: pass rate by points group", "Per-test pass rates are listed in the table."
    elif report.tests:
        items = sorted(((_short(t.name), t.rate) for t in report.tests), key=lambda item: item[1])
        shown = min(len(items), max(1, max_tests))
        title = f"{name}: pass rate by test"
        note = (f"The {shown} lowest of {len(items)} tests; every test is listed in the table."
                if shown < len(items) else "")
        items = items[:shown]
    else:
        return empty_svg(f"Pass rates for {name}: no graded submissions yet.")
    rates = ", ".join(f"{label} {rate:.0%}" for label, rate in items)
    label = (f"{title}, over {report.counts.graded} graded students, lowest first: {rates}."
             + (f" {note}" if note else ""))

    def draw(figure) -> None:
        axes = figure.add_subplot()
        positions = list(range(len(items)))[::-1]  # the lowest rate on top
        bars = axes.barh(positions, [rate for _, rate in items], color=_BAR, height=0.7)
        axes.bar_label(bars, labels=[f"{rate:.0%}" for _, rate in items], padding=3, color=_INK)
        axes.set_yticks(positions)
        axes.set_yticklabels([text for text, _ in items])
        axes.set_ylim(-0.6, len(items) - 0.4)
        axes.set_xlim(0, 1.12)
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        axes.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
        axes.set_xlabel(f"Share of {report.counts.graded} counted submissions passing")
        axes.set_title(title.split(": ", 1)[-1].capitalize(), loc="left")
        if note:
            figure.text(0.01, 0.02, note, fontsize=8, color="#555555", va="bottom")

    # Margins from the longest label (about 0.06 in a character at 9 pt): constrained layout would double the
    # time.
    left = min(3.4, 0.3 + 0.06 * max(len(text) for text, _ in items))
    bottom = 0.7 if note else 0.5
    return _render(draw, (6.4, 0.85 + bottom + 0.24 * len(items)), (left, 0.1, 0.35, bottom), label, "rates")


def empty_svg(label: str, message: str = EMPTY) -> str:
    """A small SVG that says ``message``, for charts with nothing to show."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label={quoteattr(label)} width="400" '
            f'height="48" viewBox="0 0 400 48"><title>{escape(label)}</title>'
            f'<rect width="400" height="48" fill="#f6f6f6" rx="4"/><text x="200" y="29" text-anchor="middle" '
            f'font-family="sans-serif" font-size="14" fill="#555555">{escape(message)}</text></svg>')


def _trim(text: str) -> str:
    """An axis label of at most ``LABEL_CHARS``, cut in the middle (both ends tell groups apart)."""
    if len(text) <= LABEL_CHARS:
        return text
    half = (LABEL_CHARS - 1) // 2
    return text[:half] + "…" + text[-half:]


def _short(test_name: str) -> str:
    """A test id short enough for an axis: without its folder, and trimmed in the middle if still long."""
    return _trim(re.sub(r"^.*/(?=[^/]*::)", "", test_name))


def _render(draw: Callable, size: tuple[float, float], margins: tuple[float, float, float, float], label: str,
            kind: str) -> str:
    """Draw a figure of ``size`` inches with ``margins`` (left, right, top, bottom; inches) as inline SVG."""
    # Imported here: matplotlib takes a noticeable time to import, and only chart pages need it.
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=size)
        FigureCanvasSVG(figure)
        width, height = size
        left, right, top, bottom = margins
        figure.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                               bottom=bottom / height)
        draw(figure)
        out = io.StringIO()
        # The label becomes the <title>; no date and no matplotlib version, so the markup depends on the input
        # only.
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Title": label})
    return _inline(out.getvalue(), label, kind)


def _inline(svg: str, label: str, kind: str) -> str:
    """Make matplotlib's file an inline element: no prolog or RDF metadata, a role, a label, its own ids."""
    svg = svg[svg.index("<svg"):].strip()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    # Several charts on one page must not share ids (clip paths are referenced by id); a digest keeps them
    # stable.
    prefix = f"{kind}-{hashlib.sha256(svg.encode()).hexdigest()[:8]}-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    # matplotlib's stylesheet selects "*": inline, it would restyle every other SVG on the page.
    svg = svg.replace("*{stroke-linejoin: round; stroke-linecap: butt}",
                      f"#{prefix}svg *{{stroke-linejoin: round; stroke-linecap: butt}}")
    head_end = svg.index(">")
    return svg[:head_end] + f' id="{prefix}svg" role="img" aria-label={quoteattr(label)}' + svg[head_end:]
