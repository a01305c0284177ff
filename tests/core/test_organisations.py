"""include/organisaties.yaml as read by etl.core.organisations: what a wrong file gets told."""

from __future__ import annotations

import shutil

import pytest

from etl.core import organisations as orgs
from etl.core import reference


@pytest.fixture
def include(tmp_path, monkeypatch):
    """A copy of include/ the test may edit; the module caches are cleared around it."""
    target = tmp_path / "include"
    shutil.copytree(reference.INCLUDE_DIR, target)
    monkeypatch.setattr(reference, "INCLUDE_DIR", target)
    orgs._all.cache_clear()
    yield target
    orgs._all.cache_clear()


def test_the_shipped_file_gives_every_wij_team_one_municipality_of_its_own():
    teams = orgs.organisations("wij")
    homes = [t.home for t in teams]
    assert len(teams) == 10 and len(set(homes)) == 10
    assert {g.code for g in reference.gemeenten()} == set(homes)
    assert orgs.organisation("wij", "het-hogeland").wijken == tuple(w.naam for w in reference.wijken_of("GM1966"))


def test_two_organisations_sharing_a_municipality_are_refused(include):
    path = include / "organisaties.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "{code: westerkwartier, naam: Lokaal team Westerkwartier, gemeenten: [GM1969]}",
        "{code: westerkwartier, naam: Lokaal team Westerkwartier, gemeenten: [GM1969, GM1966]}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="GM1966 of wij belongs to both het-hogeland and westerkwartier"):
        orgs.organisations("wij")


def test_an_unknown_municipality_is_refused(include):
    path = include / "organisaties.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("gemeenten: [GM1950]", "gemeenten: [GM9999]"),
                    encoding="utf-8")
    with pytest.raises(ValueError, match="unknown municipalities"):
        orgs.organisations("wij")
