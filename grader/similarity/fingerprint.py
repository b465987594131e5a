"""Fingerprints of one file: normalized tokens (``normalize``), winnowed k-gram hashes (copydetect)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from copydetect.utils import get_token_coverage, winnow

from grader.similarity.model import SimilaritySettings
from grader.similarity.normalize import Normalized, normalize


@dataclass(frozen=True)
class Fingerprint:
    """What copydetect's ``compare_files`` reads of a ``CodeFingerprint``, and the way back to the source.

    ``offsets`` is empty on purpose: ``compare_files`` then gives slices of the normalized text, which
    ``source_slices`` maps back exactly through ``normalized``.
    """

    filename: str
    raw_code: str
    normalized: Normalized
    hashes: set
    hash_idx: dict
    k: int
    token_coverage: float
    offsets: np.ndarray = field(default_factory=lambda: np.array([]))

    @property
    def filtered_code(self) -> str:
        return self.normalized.text

    def source_slices(self, slices: np.ndarray) -> np.ndarray:
        """copydetect's 2 x N starts/ends in the normalized text as starts/ends in the source."""
        starts = self.normalized.starts[slices[0].astype(np.int64)]
        ends = self.normalized.ends[slices[1].astype(np.int64) - 1]
        return np.array([starts, ends])


def fingerprint(path: str, text: str, settings: SimilaritySettings,
                boilerplate: np.ndarray | None = None) -> Fingerprint | None:
    """The winnowed fingerprints of ``text``, with every boilerplate hash left out.

    The text is normalized (``normalize``: every name ``V``, strings ``S``, no whitespace or comments),
    so renamed identifiers, new comments and blank lines do not change the fingerprints. Winnowing and the
    boilerplate removal are copydetect's (``winnow``, as its ``get_document_fingerprints``); the k-gram
    hashes are ours (``kgram_hashes``), because copydetect's use Python's ``hash()``, salted per process,
    which would make every run pick other fingerprints and give slightly other scores.

    Args:
        path: the file's path (a ``.py`` file).
        text: its content.
        settings: ``noise_t`` and the winnowing window.
        boilerplate: hashes to drop (from ``boilerplate_hashes``).

    Returns:
        The fingerprint, or None when nothing of the text is left to match (shorter than one k-gram, or
        all of it boilerplate).
    """
    normalized = normalize(path, text)
    if len(normalized.text) < settings.noise_t:
        return None
    hashes, idx = _fingerprints(normalized.text, settings, boilerplate)
    if not hashes:
        return None
    coverage = float(get_token_coverage(idx, settings.noise_t, len(normalized.text)))
    return Fingerprint(path, text, normalized, hashes, idx, settings.noise_t, coverage)


def boilerplate_hashes(files: Iterable[tuple[str, str]], settings: SimilaritySettings) -> np.ndarray:
    """Every k-gram hash of the given files (the starter's), as copydetect's ``boilerplate_dirs`` takes them.

    All k-grams, not a winnowed sample (window 1): a student's winnowing may pick any of them.
    """
    hashes: list[int] = []
    for path, text in files:
        normalized = normalize(path, text)
        if len(normalized.text) >= settings.noise_t:
            hashes.extend(kgram_hashes(normalized.text, settings.noise_t).tolist())
    return np.unique(np.array(hashes, dtype=np.int64))


_BASE = np.uint64(1_000_003)


def kgram_hashes(text: str, k: int) -> np.ndarray:
    """A deterministic 64-bit hash of every k-character window of ``text`` (polynomial, wrapping)."""
    if len(text) < k:
        return np.array([], dtype=np.int64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - k + 1
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrapping modulo 2**64 is the hash
        for offset in range(k):
            hashes = hashes * _BASE + codes[offset:offset + count]
    return hashes.view(np.int64)


def _fingerprints(text: str, settings: SimilaritySettings,
                  boilerplate: np.ndarray | None) -> tuple[set, dict]:
    """copydetect's ``get_document_fingerprints`` over ``kgram_hashes``: the hashes kept, and where."""
    hashes, idx = winnow(kgram_hashes(text, settings.noise_t), settings.window, remove_duplicates=False)
    if boilerplate is not None and len(boilerplate):
        keep = ~np.isin(hashes, boilerplate)
        hashes, idx = hashes[keep], idx[keep]
    where: dict[int, list[int]] = {}
    for value, index in zip(hashes.tolist(), idx.tolist()):
        where.setdefault(value, []).append(index)
    return set(where), where
