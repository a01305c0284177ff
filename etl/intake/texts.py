"""Tests over many texts at once: the distinct values of a column, joined.

Why: a WIJ file has a casus id per row, so a column can hold 200k distinct texts, and a
Python call per text (a regex search, ``str.lower``) costs more than reading the file.
Joined by NUL, which an XML cell cannot hold, the texts are one string: a regex whose
classes exclude NUL runs once over all of them and a match's start names its text by
bisection; numpy counts characters per text on the code points.
"""

from __future__ import annotations

import bisect
import re

import numpy as np

#: Above this many characters the texts are tested one by one: the code points take four
#: bytes a character, and a column of very long texts (testfiles__large_strings.xlsx of the corpus: a child peak of 1.2 GB) would
#: need several times its size at once. A column of 200k casus ids is about 2.4M characters.
MAX_CHARS = 8_000_000


class Joined:
    """Texts joined by NUL, with where each starts. Not ``usable`` (the caller then tests
    them one by one) when a text holds a NUL or a lone surrogate itself, or when together
    they exceed ``MAX_CHARS``."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.text = ""
        self.points: np.ndarray | None = None
        self.starts: np.ndarray | None = None
        if not texts or sum(map(len, texts)) + len(texts) > MAX_CHARS:
            return
        self.text = "\x00".join(texts)
        if self.text.count("\x00") == len(texts) - 1:
            try:                                   # one trailing NUL: every text starts inside
                self.points = np.frombuffer((self.text + "\x00").encode("utf-32-le"), dtype=np.uint32)
            except UnicodeEncodeError:
                return
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            self.starts = np.concatenate(([0], np.cumsum(lengths[:-1] + 1)))

    @property
    def usable(self) -> bool:
        return self.points is not None

    def where(self, pattern: re.Pattern[str]) -> np.ndarray:
        """Per text: does ``pattern`` match somewhere in it (the pattern must not match NUL)."""
        hit = np.zeros(len(self.texts), dtype=bool)
        starts = self.starts.tolist()
        for m in pattern.finditer(self.text):
            hit[bisect.bisect_right(starts, m.start()) - 1] = True
        return hit

    def where_lower(self, *needles: str) -> np.ndarray:
        """Per text: does ``needle in text.lower()`` hold for one of the needles (fast
        substring search on the lowered text, when lowering keeps every position)."""
        low = self.text.lower()
        if len(low) != len(self.text):                 # a character that lowers to two: one by one
            return np.array([any(n in t.lower() for n in needles) for t in self.texts], dtype=bool)
        hit = np.zeros(len(self.texts), dtype=bool)
        starts = self.starts.tolist()
        for needle in needles:
            i = low.find(needle)
            while i >= 0:
                j = bisect.bisect_right(starts, i) - 1
                hit[j] = True
                i = low.find(needle, starts[j + 1] if j + 1 < len(starts) else len(low))
        return hit

    def count_per_text(self, mask: np.ndarray) -> np.ndarray:
        """Per text: how many of its characters ``mask`` (a boolean array over ``points``) holds."""
        return np.add.reduceat(mask.astype(np.int32), self.starts)

    def non_ascii(self) -> np.ndarray:
        return self.count_per_text(self.points > 127) > 0
