"""compare_submissions: every pair's similarity over the owned files, the starter's code excluded."""

from __future__ import annotations

import bisect
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from copydetect import compare_files
from scipy import sparse

from grader.similarity.fingerprint import Fingerprint, boilerplate_hashes, fingerprint
from grader.similarity.model import FileMatch, LineRange, PairResult, SimilaritySettings, Submission


@dataclass(frozen=True)
class _Prepared:
    """One submission's fingerprints, by owned path, and its own code's size (the score's denominator)."""

    submission: Submission
    prints: dict[str, Fingerprint]
    coverage: float


def compare_submissions(starter: Mapping[str, str], current: Sequence[Submission],
                        archive: Sequence[Submission] = (),
                        settings: SimilaritySettings = SimilaritySettings(), *,
                        excluded: Sequence[Mapping[str, str]] = (), jobs: int = 1,
                        progress: Callable[[str, int, int], None] | None = None) -> list[PairResult]:
    """Compare every two current submissions, and each current one with each archived one.

    Only the same owned file is compared across two submissions (the owned files are fixed per
    assignment, so a copied ``Dense`` lands in ``layers/dense.py`` in both). Everything the starter ships
    in the owned files (stubs, docstrings, given preludes) is left out of both fingerprints, so two
    untouched starters share nothing.

    Two stages, so that hundreds of students take seconds: every pair's share of common fingerprints is
    counted at once (a sparse product, see ``screen``); only the pairs whose share reaches
    ``settings.screen`` are compared by copydetect (the score and the matched lines).

    Args:
        starter: the owned files as the starter ships them, path -> text.
        current: this offering's submissions; names must be unique.
        archive: earlier offerings' submissions, compared with ``current`` only (never with each other).
        settings: k-gram length, window, screen, threshold.
        excluded: more code left out like the starter's, path -> text each: an earlier version of the
            starter some students began from, code handed out in class.
        jobs: processes that fingerprint the submissions and compare the pairs past the screen.
        progress: told ``(stage, done, total)`` as the check goes: ``fingerprinting`` (submissions), then
            ``comparing`` (the pairs past the screen), after each step and at least every 50 pairs.

    Returns:
        The pairs that pass the screen with a nonzero score, highest first (ties by names). ``files``
        (matched lines) is filled for the pairs at or above ``settings.threshold`` only: the rest are
        not shown side by side.

    Raises:
        ValueError: two submissions share a name.
    """
    names = [sub.name for sub in (*current, *archive)]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"submission names must be unique. Received twice: {', '.join(twice)}")
    boilerplate = boilerplate_hashes([item for files in (starter, *excluded) for item in files.items()],
                                     settings)
    order = list(starter)
    tell = progress or (lambda stage, done, total: None)
    tell("fingerprinting", 0, len(names))
    prepared = _prepare_all([*current, *archive], order, boilerplate, settings, jobs)
    tell("fingerprinting", len(names), len(names))
    # The starter's lines, per file: never marked as matched (a match's edges can reach into a given prelude).
    given = {path: frozenset(line.strip() for line in text.splitlines() if line.strip())
             for files in (starter, *excluded) for path, text in files.items()}
    shares = screen(prepared, order)
    candidates = [(i, j) for i, j in _candidates(len(current), len(prepared))
                  if max(shares[i, j], shares[j, i]) >= settings.screen]
    pairs: list[PairResult] = []
    # In steps only when someone follows the progress: each pool round forks its processes anew.
    step = (max(1, len(candidates)) if progress is None
            else 50 if jobs <= 1 else max(50, len(candidates) // 10))
    for start in range(0, len(candidates), step):
        tell("comparing", start, len(candidates))
        chunk = candidates[start:start + step]
        pairs += [pair for pair in _compare_all(prepared, chunk, order, settings, jobs, given)
                  if pair is not None]
    tell("comparing", len(candidates), len(candidates))
    pairs.sort(key=lambda pair: (-pair.score, pair.a, pair.b))
    return pairs


def _candidates(n_current: int, n_all: int):
    """Index pairs: current with later current, and current with every archived one."""
    for i in range(n_current):
        for j in range(i + 1, n_all):
            yield i, j


# The forked comparison workers read the prepared submissions from here (set just before the fork) rather
# than receive them pickled with every chunk of pairs.
_FORKED: tuple | None = None


def _compare_all(prepared: Sequence[_Prepared], candidates: list[tuple[int, int]], order: Sequence[str],
                 settings: SimilaritySettings, jobs: int,
                 given: Mapping[str, frozenset[str]]) -> list[PairResult | None]:
    global _FORKED
    if jobs <= 1 or len(candidates) < 100:
        return [compare_pair(prepared[i], prepared[j], order, settings, given) for i, j in candidates]
    chunks = [candidates[start:start + 50] for start in range(0, len(candidates), 50)]
    _FORKED = (prepared, order, settings, given)
    try:
        with _fork_pool(jobs) as pool:
            return [pair for chunk in pool.map(_compare_chunk, chunks) for pair in chunk]
    finally:
        _FORKED = None


def _compare_chunk(chunk: list[tuple[int, int]]) -> list[PairResult | None]:
    prepared, order, settings, given = _FORKED
    return [compare_pair(prepared[i], prepared[j], order, settings, given) for i, j in chunk]


def _fork_pool(jobs: int) -> ProcessPoolExecutor:
    # fork: the comparison workers find the prepared submissions in _FORKED without pickling them.
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def _prepare_all(subs: Sequence[Submission], order: Sequence[str], boilerplate: np.ndarray,
                 settings: SimilaritySettings, jobs: int) -> list[_Prepared]:
    if jobs <= 1 or len(subs) < 2 * jobs:
        return [_prepare(sub, order, boilerplate, settings) for sub in subs]
    with _fork_pool(jobs) as pool:
        return list(pool.map(_prepare, subs, repeat(order), repeat(boilerplate), repeat(settings),
                             chunksize=max(1, len(subs) // (4 * jobs))))


def screen(prepared: Sequence[_Prepared], order: Sequence[str]) -> np.ndarray:
    """``shares[i, j]``: the share of submission i's fingerprints (all files) that j has in the same file.

    One sparse product of the submissions x fingerprints matrix with its transpose counts every pair's
    common fingerprints at once.
    """
    columns: dict[tuple[int, int], int] = {}
    rows, cols = [], []
    for row, prep in enumerate(prepared):
        for index, path in enumerate(order):
            fp = prep.prints.get(path)
            for value in fp.hashes if fp is not None else ():
                rows.append(row)
                cols.append(columns.setdefault((index, value), len(columns)))
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                               shape=(len(prepared), max(1, len(columns))))
    common = (matrix @ matrix.T).toarray().astype(float)
    sizes = np.maximum(common.diagonal(), 1.0)
    return common / sizes[:, None]


def _prepare(sub: Submission, order: Sequence[str], boilerplate: np.ndarray,
             settings: SimilaritySettings) -> _Prepared:
    prints = {}
    for path in order:
        text = sub.files.get(path)
        fp = fingerprint(path, text, settings, boilerplate) if text is not None else None
        if fp is not None:
            prints[path] = fp
    return _Prepared(sub, prints, float(sum(fp.token_coverage for fp in prints.values())))


def compare_pair(a: _Prepared, b: _Prepared, order: Sequence[str], settings: SimilaritySettings,
                 given: Mapping[str, frozenset[str]] | None = None) -> PairResult | None:
    """The two submissions' scores and, when flagged, their matched lines (a line the starter ships,
    ``given[path]``, is never marked); None when nothing matches."""
    given = given or {}
    matched_a = matched_b = 0.0
    found = []
    for path in order:
        fa, fb = a.prints.get(path), b.prints.get(path)
        if fa is None or fb is None or fa.hashes.isdisjoint(fb.hashes):
            continue
        _, (share_a, share_b), slices = compare_files(fa, fb)
        if share_a == 0 and share_b == 0:
            continue
        # compare_files gives shares of each file's coverage; back to characters, to sum over files.
        ca, cb = float(share_a * fa.token_coverage), float(share_b * fb.token_coverage)
        matched_a, matched_b = matched_a + ca, matched_b + cb
        found.append((path, ca, cb, fa.source_slices(slices[0]), fb.source_slices(slices[1])))
    if min(matched_a, matched_b) < settings.min_matched:
        return None
    pair = PairResult(a.submission.name, b.submission.name, _share(matched_a, a.coverage),
                      _share(matched_b, b.coverage), b_archived=b.submission.archived)
    if pair.score < settings.threshold:
        return pair
    files = tuple(FileMatch(path, int(ca), int(cb),
                            _lines(a.submission.files[path], slices_a, given.get(path, frozenset())),
                            _lines(b.submission.files[path], slices_b, given.get(path, frozenset())))
                  for path, ca, cb, slices_a, slices_b in found)
    return PairResult(pair.a, pair.b, pair.score_ab, pair.score_ba, files, pair.b_archived)


def _share(matched: float, coverage: float) -> float:
    return float(min(1.0, matched / coverage)) if coverage else 0.0


def _lines(text: str, slices: np.ndarray, given: frozenset[str] = frozenset()) -> tuple[LineRange, ...]:
    """Character slices (copydetect's 2 x N starts/ends) as merged 1-based inclusive line ranges, leaving
    out the lines whose text (stripped) is one of ``given`` (the starter's)."""
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    ranges: list[list[int]] = []
    for begin, end in zip(slices[0], slices[1]):
        first = bisect.bisect_right(starts, int(begin))
        last = bisect.bisect_right(starts, max(int(begin), int(end) - 1))
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], last)
        else:
            ranges.append([first, last])
    if not given:
        return tuple((first, last) for first, last in ranges)
    lines = text.splitlines()
    kept: list[list[int]] = []
    for first, last in ranges:
        for n in range(first, last + 1):
            if n <= len(lines) and lines[n - 1].strip() in given:
                continue
            if kept and kept[-1][1] == n - 1:
                kept[-1][1] = n
            else:
                kept.append([n, n])
    return tuple((first, last) for first, last in kept)
