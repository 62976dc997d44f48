"""Word-prefix search over code descriptions.

The index is an inverted index kept in three flat integer arrays so that it
loads from disk without building Python objects per posting:

* ``vocab``: the sorted distinct words of all descriptions;
* ``offsets``: word ``w`` owns ``postings[offsets[w]:offsets[w + 1]]``;
* ``postings``: *rank positions* (not row numbers), ascending per word;
* ``by_rank``: rank position -> row number.

Rank positions order rows by relevance once, at build time (reportable codes
first, then shorter descriptions, then code order), so the first ``limit``
matches met while walking postings in ascending order are the best ones and
a query stops early instead of sorting every match. Because ``vocab`` is
sorted, all words starting with a prefix are one contiguous slice of it.
"""

from __future__ import annotations

import base64
import heapq
import re
import sys
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby, islice

INDEX_VERSION = "1"

_WORD = re.compile(r"[a-z0-9]+")
# Words too common to narrow a search; queries ignore them too.
STOPWORDS = frozenset("a an and as at by for from in into of on or the to".split())
_BIG = "\U0010ffff"
_BATCH = 64  # candidates confirmed together
_WINDOW_WORDS = 64  # prefixes matching more words are confirmed row by row


def words(text: str) -> list[str]:
    """Lower-case ASCII words of a text, accents folded, stopwords dropped.

    Apostrophes are removed first so that "Alzheimer's" is one word,
    ``alzheimers``, and the query "alzheimer" finds it as a prefix.
    """
    text = text.lower().replace("'", "").replace("\u2019", "")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return [w for w in _WORD.findall(text) if w not in STOPWORDS]


def rank_key(kind: str, description: str, row: int) -> tuple[bool, int, int]:
    """Relevance order of a row: reportable first, shorter text, code order."""
    return (kind != "B", len(description), row)


def _pack(values: Sequence[int]) -> str:
    data = array("I", values)
    if sys.byteorder == "big":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpack(text: str) -> Sequence[int]:
    raw = base64.b64decode(text)
    if sys.byteorder == "big":
        data = array("I")
        data.frombytes(raw)
        data.byteswap()
        return data
    return memoryview(raw).cast("I")  # no copy: the decoded bytes are the array


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """The inverted index of one table; see the module docstring."""

    vocab: list[str]
    offsets: Sequence[int]
    postings: Sequence[int]
    by_rank: Sequence[int]

    @classmethod
    def build(cls, kinds: str, descriptions: Sequence[str]) -> SearchIndex:
        """Index descriptions; ``kinds[i]`` is the row kind of row ``i``."""
        by_rank = sorted(range(len(descriptions)), key=lambda i: rank_key(kinds[i], descriptions[i], i))
        pairs = sorted(
            (word, rank) for rank, row in enumerate(by_rank) for word in set(words(descriptions[row]))
        )
        vocab: list[str] = []
        offsets = array("I", [0])
        postings = array("I")
        for word, group in groupby(pairs, key=lambda pair: pair[0]):
            vocab.append(word)
            postings.extend(rank for _, rank in group)
            offsets.append(len(postings))
        return cls(vocab, offsets, postings, array("I", by_rank))

    def to_lines(self) -> list[str]:
        """Serialise to the four text lines stored after ``#index``."""
        return ["\t".join(self.vocab), _pack(self.offsets), _pack(self.postings), _pack(self.by_rank)]

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> SearchIndex:
        """Inverse of :meth:`to_lines`."""
        vocab_line, offsets, postings, by_rank = lines
        vocab = vocab_line.split("\t") if vocab_line else []
        return cls(vocab, _unpack(offsets), _unpack(postings), _unpack(by_rank))

    def word_range(self, prefix: str) -> tuple[int, int]:
        """Half-open range of vocab ids of words starting with ``prefix``."""
        return bisect_left(self.vocab, prefix), bisect_left(self.vocab, prefix + _BIG)

    def _postings_count(self, word_range: tuple[int, int]) -> int:
        first, last = word_range
        return self.offsets[last] - self.offsets[first]

    def _ranks(self, word_range: tuple[int, int]) -> Iterator[int]:
        """Distinct rank positions of rows holding any word in the range, ascending."""
        first, last = word_range
        lists = [self.postings[self.offsets[w] : self.offsets[w + 1]] for w in range(first, last)]
        if len(lists) == 1:
            return iter(lists[0])
        return (rank for rank, _ in groupby(heapq.merge(*lists)))

    def rows(self, prefixes: Sequence[str], accept: Callable[[int, Sequence[str]], bool], limit: int) -> list[int]:
        """Best ``limit`` rows whose words start with every prefix.

        The rarest prefix drives a walk in rank order, a batch at a time.
        Each other prefix is confirmed from its own postings, cut by bisection
        to the batch's rank window, so only a few postings are touched; a
        prefix matching very many words (``c``) is left to ``accept(row,
        unconfirmed_prefixes)``, which also applies filters such as dates.
        """
        if not prefixes or limit <= 0:
            return []
        ranges = {p: self.word_range(p) for p in prefixes}
        driver = min(ranges, key=lambda p: self._postings_count(ranges[p]))
        others = [ranges[p] for p in ranges if p != driver and ranges[p][1] - ranges[p][0] <= _WINDOW_WORDS]
        unconfirmed = [p for p in ranges if p != driver and ranges[p][1] - ranges[p][0] > _WINDOW_WORDS]
        found: list[int] = []
        ranks = self._ranks(ranges[driver])
        while len(found) < limit:
            batch = list(islice(ranks, _BATCH))
            if not batch:
                break
            windows = [self._window(r, batch[0], batch[-1] + 1) for r in others]
            for rank in batch:
                if all(rank in window for window in windows):
                    row = self.by_rank[rank]
                    if accept(row, unconfirmed):
                        found.append(row)
                        if len(found) == limit:
                            break
        return found

    def _window(self, word_range: tuple[int, int], low: int, high: int) -> set[int]:
        """Ranks in ``[low, high)`` of rows holding a word of the range."""
        window: set[int] = set()
        postings, offsets = self.postings, self.offsets
        for word in range(*word_range):
            start, end = offsets[word], offsets[word + 1]
            first = bisect_left(postings, low, start, end)
            window.update(postings[first : bisect_left(postings, high, first, end)])
        return window
