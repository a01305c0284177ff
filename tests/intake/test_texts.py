"""Tests over many texts at once (``etl.intake.texts.Joined``) agree with one test per text."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.intake.texts import Joined

TEXTS = st.lists(st.text(alphabet=st.sampled_from("totsomTOSM İ\u00e9a1@\x00\ud800"), max_size=10), max_size=12)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_joined_answers_what_each_text_answers(texts):
    joined = Joined(texts)
    if any("\x00" in t or any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts):
        assert not joined.usable                         # the caller then goes one by one
        return
    if not texts:
        return
    assert joined.where_lower("tot", "som").tolist() == [("tot" in t.lower() or "som" in t.lower()) for t in texts]
    assert joined.non_ascii().tolist() == [not t.isascii() for t in texts]
    assert joined.where(re.compile("[0-9]@")).tolist() == [bool(re.search("[0-9]@", t)) for t in texts]
    ones = joined.count_per_text(joined.points == ord("1"))
    assert np.array_equal(ones, [t.count("1") for t in texts])


def test_too_many_characters_go_one_by_one_with_the_same_answers(monkeypatch):
    """Above MAX_CHARS nothing is joined (memory: four bytes a character), and the callers'
    answers stay those of one test per text."""
    from etl.intake import texts
    from etl.intake.read import _maybe_total_label, _maybe_total_labels
    from etl.intake.screen import _TEXT_CANDIDATE, _text_candidates

    values = ["Totaal", "C-00012345", "bel 0612345678", "a@b.nl", "9711 AB 3", "gewoon"]
    monkeypatch.setattr(texts, "MAX_CHARS", 10)
    assert not Joined(values).usable
    assert _text_candidates(values) == [j for j, t in enumerate(values) if _TEXT_CANDIDATE.search(t)]
    assert _maybe_total_labels(values) == [k for k, v in enumerate(values) if _maybe_total_label(v)]
