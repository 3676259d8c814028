"""Case texts as vectors: words (TF-IDF) and meaning (WordLlama), side by side.

A case's vector is two unit-length halves stored together as float32 bytes:

- the *word* half: the text's terms (words and two-word phrases, stop words
  and the XXXX redactions dropped, sublinear counts) hashed with a sign into
  `WORD_DIM` buckets. Its inverse document frequency is not stored: it is
  applied when the search matrix is built, from the stored rows themselves,
  so it follows the business's own words as cases arrive;
- the *meaning* half: WordLlama's 256-dimension embedding, which ships inside
  the wordllama package and is loaded without any download.

Similarity is the weighted sum of the two cosines (`WORD_WEIGHT`); weights and
sizes were chosen on the development half of the CFPB narratives only
(bench/learning.py).
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

WORD_DIM = 1024
MEANING_DIM = 256
DIM = WORD_DIM + MEANING_DIM
# The share of the word cosine in the combined similarity (dev split).
WORD_WEIGHT = 0.7
VERSION = 1
# The search keeps a reduced copy of the rows (bounceback/learning/index.py):
# its size, and how many of its nearest are re-ranked with the full rows.
REDUCED_DIM = 256
CANDIDATES = 30
_SAMPLE = 5000

# Redactions (XXXX, XX/XX/XXXX), amounts in braces and bare numbers say nothing
# about what went wrong; they only make unrelated complaints look alike.
_NOISE = re.compile(r"\bx{2,}\b|\{\$?[\d.,]+\}|\$?\d[\d.,/:-]*", re.IGNORECASE)
_WORD = re.compile(r"[a-z][a-z']+")

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've
    if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
    on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves also just will would get got us said told
    """.split()  # noqa: SIM905 (a word list reads better as words)
)


def clean(text: str) -> str:
    """The text without redactions, amounts and numbers, lower-cased."""
    return _NOISE.sub(" ", text or "").lower()


def terms(text: str) -> list[str]:
    """Words (stop words dropped) and the two-word phrases between them."""
    words = [w.strip("'") for w in _WORD.findall(clean(text))]
    words = [w for w in words if len(w) > 1 and w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@lru_cache(maxsize=200_000)
def _bucket(term: str) -> tuple[int, float]:
    # crc32 is stable across processes and Python versions (hash() is salted).
    h = zlib.crc32(term.encode())
    return h % WORD_DIM, (1.0 if (h >> 31) & 1 else -1.0)


def word_vector(text: str) -> np.ndarray:
    """Sublinear term counts hashed into WORD_DIM signed buckets (no IDF yet)."""
    vec = np.zeros(WORD_DIM, dtype=np.float32)
    for term, count in Counter(terms(text)).items():
        i, sign = _bucket(term)
        vec[i] += sign * (1.0 + math.log(count))
    return vec


@lru_cache(maxsize=1)
def _wordllama() -> Any:
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=MEANING_DIM
    )


def meaning_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-length WordLlama embeddings of the cleaned texts, one row each."""
    if not texts:
        return np.zeros((0, MEANING_DIM), dtype=np.float32)
    vectors = np.asarray(_wordllama().embed([clean(t) for t in texts]), dtype=np.float32)
    return normalise(vectors)


def normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def vectors(texts: Sequence[str]) -> np.ndarray:
    """The stored form: raw hashed counts, then the unit meaning vector."""
    words = np.stack([word_vector(t) for t in texts]) if texts else np.zeros((0, WORD_DIM))
    return np.hstack([words.astype(np.float32), meaning_vectors(texts)])


def idf(word_rows: np.ndarray) -> np.ndarray:
    """Smoothed inverse document frequency of each bucket over the given rows."""
    n = word_rows.shape[0]
    df = np.count_nonzero(word_rows, axis=0)
    return (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)


def search_matrix(stored: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows whose dot product is the combined similarity.

    Each half is weighted by IDF (words) and normalised, then scaled by the
    square root of its weight, so one matrix-vector product gives
    WORD_WEIGHT * word cosine + (1 - WORD_WEIGHT) * meaning cosine.
    """
    if weights is None:
        weights = idf(stored[:, :WORD_DIM])
    words = normalise(stored[:, :WORD_DIM] * weights)
    meaning = normalise(stored[:, WORD_DIM:])
    return np.hstack(
        [words * math.sqrt(WORD_WEIGHT), meaning * math.sqrt(1.0 - WORD_WEIGHT)]
    ).astype(np.float32)


def reduction(full: np.ndarray, dims: int = REDUCED_DIM, *, seed: int = 0) -> np.ndarray:
    """The top `dims` principal directions of search rows (from a sample), (dims, DIM)."""
    rng = np.random.default_rng(seed)
    sample = full if len(full) <= _SAMPLE else full[rng.choice(len(full), _SAMPLE, False)]
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    projection = np.zeros((dims, full.shape[1]), dtype=np.float32)
    projection[: min(dims, len(vt))] = vt[:dims]
    return projection
