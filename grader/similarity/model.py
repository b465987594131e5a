"""The typed inputs and results of a similarity check: submissions, settings, pairs and matched lines."""

from __future__ import annotations

from dataclasses import dataclass, field

LineRange = tuple[int, int]  # first and last line, 1-based and inclusive


@dataclass(frozen=True)
class SimilaritySettings:
    """How fingerprints are taken and when a pair is flagged.

    Attributes:
        noise_t: matches shorter than this many characters of normalized code are ignored (copydetect's
            k-gram length). Normalized Python is dense (no whitespace or comments, every name one letter),
            so 25 characters is about ten tokens.
        guarantee_t: every match at least this long is found (sets the winnowing window,
            ``guarantee_t - noise_t + 1``); equal to ``noise_t`` keeps every k-gram. 35 keeps about one
            k-gram in six, which is faster and, on the corpus, separates copies from independent work
            better than every k-gram does (independent pairs share more short runs than long ones).
        threshold: a pair whose ``score`` reaches this is flagged.
        screen: a pair is compared in full only when one of the two has at least this share of its
            fingerprints in the other (a cheap count over all pairs at once). Copies share far more
            than the threshold; the corpus in tests/similarity keeps this below every copy's share.
        min_matched: fewer matched characters than this (in the smaller direction) make no score at all,
            so that two students who each wrote one short function the same obvious way are not
            flagged at 100 %.
    """

    noise_t: int = 25
    guarantee_t: int = 35
    threshold: float = 0.5
    screen: float = 0.2
    min_matched: int = 60

    def __post_init__(self) -> None:
        if self.noise_t < 1 or self.guarantee_t < self.noise_t:
            raise ValueError(f"need 1 <= noise_t <= guarantee_t. Received: noise_t={self.noise_t}, "
                             f"guarantee_t={self.guarantee_t}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1. Received: threshold={self.threshold}")

    @property
    def window(self) -> int:
        return self.guarantee_t - self.noise_t + 1


@dataclass(frozen=True)
class Submission:
    """One student's owned files, as text.

    Attributes:
        name: how the report names it (the zip's name).
        files: owned path inside the package (``"layers/dense.py"``) -> its text.
        archived: from an earlier offering: compared with current submissions only.
    """

    name: str
    files: dict[str, str]
    archived: bool = False


@dataclass(frozen=True)
class FileMatch:
    """What two submissions share in one owned file.

    Attributes:
        path: the owned file, inside the package.
        matched_a: characters of normalized code in ``a``'s file that match ``b``'s.
        matched_b: the same in ``b``'s file.
        lines_a: the matched line ranges in ``a``'s text, in order, merged where they touch.
        lines_b: the same in ``b``'s text.
    """

    path: str
    matched_a: int
    matched_b: int
    lines_a: tuple[LineRange, ...]
    lines_b: tuple[LineRange, ...]


@dataclass(frozen=True)
class PairResult:
    """The similarity of two submissions over all their owned files.

    Attributes:
        a, b: the submissions' names (``a`` sorts first, or is the current one against an archived ``b``).
        score_ab: the share of ``a``'s own code (starter excluded) found in ``b``, 0..1.
        score_ba: the share of ``b``'s own code found in ``a``.
        score: ``max(score_ab, score_ba)``: a student who copied everything and added more still shows.
        files: the owned files with any match, in the assignment's order.
        b_archived: ``b`` is from an earlier offering.
    """

    a: str
    b: str
    score_ab: float
    score_ba: float
    files: tuple[FileMatch, ...] = field(default=())
    b_archived: bool = False

    @property
    def score(self) -> float:
        return max(self.score_ab, self.score_ba)

    def summary(self) -> dict:
        """The pair as ``--json`` writes it."""
        return {"a": self.a, "b": self.b, "score": round(self.score, 4), "score_ab": round(self.score_ab, 4),
                "score_ba": round(self.score_ba, 4)}
