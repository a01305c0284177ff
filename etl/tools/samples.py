"""Deterministic generator of realistic *synthetic* partner workbooks.

No real data: every number comes from a seeded random generator, shaped after
public orders of magnitude (see /work/shared/field-notes.md, "Domain").

The workbooks look like what a partner sends: a merged title cell in row 1, a blank
row, the header row on row 3 with the data contract's column names, a ``Totaal``
row under the aggregate tables, and a source note two rows under the table.
Alongside the files, :class:`SampleSet` carries the *truth*: the exact values
written, normalised (``periode`` as ``2024Q3``, ``gemeente`` as CBS code, ``None``
where the partner wrote ``"<5"``), so tests can check the pipeline's output.

Determinism: each (source, quarter) draws from its own random stream seeded by
``(seed, source, year, quarter)``, and the WIJ case population is simulated on a
fixed calendar, so the values for a quarter depend only on ``seed``, the quarter
and ``population_scale``, not on which other quarters are generated. The files
themselves are byte-identical between runs (fixed document properties and zip
timestamps), so content hashes are stable too.

Command line: ``python -m etl.tools.samples --out DIR [--seed N] [--quarters 2024Q1,2024Q2]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from etl.core.files import write_atomic as _write_atomic
from etl.core.organisations import Organisation, organisation, original
from etl.core.reference import wijken_of

__all__ = [
    "GEMEENTEN",
    "QUARTERS_DEFAULT",
    "SUPPRESSED_CELL",
    "WIJKEN",
    "SampleSet",
    "generate_samples",
    "main",
]

QUARTERS_DEFAULT: tuple[str, ...] = (
    "2023Q1", "2023Q2", "2023Q3", "2023Q4",
    "2024Q1", "2024Q2", "2024Q3", "2024Q4",
)  # fmt: skip

# (name as partners write it, CBS code, approximate population, relative rate of
# meldingen per inhabitant: the city and the east of the province a bit higher).
GEMEENTEN: tuple[tuple[str, str, int, float], ...] = (
    ("Groningen", "GM0014", 243_000, 1.15),
    ("Het Hogeland", "GM1966", 48_000, 0.95),
    ("Westerkwartier", "GM1969", 65_500, 0.85),
    ("Eemsdelta", "GM1979", 45_800, 1.05),
    ("Midden-Groningen", "GM1952", 61_500, 1.05),
    ("Oldambt", "GM1895", 38_900, 1.15),
    ("Pekela", "GM0765", 12_300, 1.20),
    ("Stadskanaal", "GM0037", 32_200, 1.05),
    ("Veendam", "GM0047", 28_000, 1.05),
    ("Westerwolde", "GM1950", 26_900, 0.95),
)

# WIJ team areas with a relative case weight (northern districts somewhat more).
WIJKEN: tuple[tuple[str, float], ...] = (
    ("Beijum", 1.4),
    ("Centrum", 1.0),
    ("Corpus den Hoorn", 0.7),
    ("Haren", 0.6),
    ("Helpman/De Wijert", 0.9),
    ("Hoogkerk", 0.6),
    ("Korrewegwijk", 1.4),
    ("Lewenborg", 1.3),
    ("Oosterparkwijk", 1.4),
    ("Paddepoel", 1.3),
    ("Rivierenbuurt", 0.8),
    ("Selwerd", 1.3),
    ("Ten Boer", 0.4),
    ("Vinkhuizen", 1.5),
)

# Quarters in which the Vrouwenopvang file has no row for these municipalities (no
# clients: counted as 0, named in the receipt), as real shelter files do.
VO_ABSENT_QUARTERS = frozenset({(2023, 2), (2024, 1), (2024, 4)})
VO_ABSENT_GEMEENTEN = ("Pekela", "Westerwolde", "Eemsdelta")

# WIJ leaves nazorg blank for about one closed case in six (chosen by casus id, so no
# random stream shifts); open cases have no nazorg yet (blank). The share is over the
# known values, the number unknown beside it.
NAZORG_BLANK_EVERY = 6

# Groepsaanbod: in this quarter WIJ types "n.v.t." for the deelnemers of a programme that
# did not run (groepen 0): read as unknown with a warning naming the cell.
GROEP_NVT_QUARTER = (2024, 2)
GROEP_NVT_TEXT = "n.v.t."

# The one cell per quarter that Veilig Thuis writes as "<5" (forced into 1..4).
SUPPRESSED_CELL: tuple[str, str] = ("GM0765", "meldingen_ouderenmishandeling")
SUPPRESSED_TEXT = "<5"

VT_MELDINGEN_COLUMNS = (
    "periode", "gemeente", "adviezen", "meldingen_totaal", "meldingen_kindermishandeling",
    "meldingen_partnergeweld", "meldingen_ouderenmishandeling", "meldingen_overig",
    "melder_politie", "melder_professional", "melder_burger", "unieke_casussen",
    "hermeldingen", "tijdelijke_huisverboden", "icm_trajecten_gestart",
)  # fmt: skip
VT_DOORLOOP_COLUMNS = (
    "periode", "veiligheidsbeoordelingen", "binnen_5_werkdagen", "wachtlijst_einde_kwartaal",
)  # fmt: skip
WIJ_CASUS_COLUMNS = (
    "periode", "casus_id", "wijk", "startdatum", "einddatum", "vorm_geweld",
    "doorverwezen_veilig_thuis", "nazorg", "aantal_kinderen",
)  # fmt: skip
WIJ_GROEP_COLUMNS = ("periode", "wijk", "aanbod", "groepen", "deelnemers")
VO_OPVANG_COLUMNS = (
    "periode", "gemeente", "aanmeldingen", "opnames_volwassenen", "opnames_kinderen",
    "ambulante_trajecten", "uitstroom_zelfstandig", "uitstroom_terug_naar_huis",
    "uitstroom_andere_opvang", "uitstroom_onbekend",
)  # fmt: skip
VO_CAPACITEIT_COLUMNS = (
    "periode", "plaatsen_crisisopvang", "bezette_plaatsdagen", "wachtlijst_einde_kwartaal",
    "gemiddelde_verblijfsduur_dagen",
)  # fmt: skip
VO_STEUNPUNT_COLUMNS = ("periode", "inloopcontacten", "telefonische_contacten", "chatcontacten")

VORMEN_GEWELD = (
    ("partnergeweld", 0.34),
    ("ex-partnergeweld", 0.16),
    ("kindermishandeling", 0.30),
    ("ouderenmishandeling", 0.07),
    ("eergerelateerd", 0.02),
    ("overig", 0.11),
)
GROEPSAANBOD_WIJKEN = ("Beijum", "Korrewegwijk", "Lewenborg", "Oosterparkwijk", "Vinkhuizen")
GROEPSAANBOD = ("Kikkergroep", "Vingers in je oren")

STEUNPUNT_OPENED = dt.date(2024, 11, 1)
_TREND_ANCHOR = (2023, 1)  # t = 0: trends are expressed in quarters since 2023Q1
_WIJ_SIM_START = (2020, 1)  # the case population is simulated from here on
_WIJ_MAX_DURATION_DAYS = 900  # long tail, capped so the simulation window suffices

_SOURCE_IDS = {"veilig_thuis": 1, "wij": 2, "vrouwenopvang": 3}

#: The local teams the demo lets deliver (the CLI's default; ``generate_samples`` writes none
#: unless asked, so the tests that count the 24 classic files keep counting them).
DEMO_LOCAL_TEAMS: tuple[str, ...] = ("het-hogeland", "westerkwartier")
#: Per local team: the first quarter it delivers (a team that joined later: the quarters
#: before it are absent, as they are in real life) and how its file is named.
LOCAL_TEAM_FILES = {
    "het-hogeland": ((2023, 1), "LokaalTeam_HetHogeland_{year}Q{q}.xlsx"),
    "westerkwartier": ((2024, 1), "Westerkwartier casussen HG {year}-Q{q}.xlsx"),
}
_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class SampleSet:
    """What :func:`generate_samples` wrote.

    ``truth`` maps ``"<source>/<sheet>"`` to a DataFrame holding exactly the data
    rows written (no title, totals or notes), over all generated quarters, with
    the contract's column names and normalised values.
    """

    files: list[Path]
    truth: dict[str, pd.DataFrame]
    root: Path | None = None        # the inbox root the files were written under

    def folder(self, f: Path) -> str:
        """The partner folder of a written file, relative to the inbox root (``wij/wij-groningen``)."""
        return f.parent.relative_to(self.root).as_posix() if self.root else f.parent.name

    def bron(self, f: Path) -> str:
        return self.folder(f).split("/")[0]


# --------------------------------------------------------------------------- quarters


def _parse_quarter(text: str) -> tuple[int, int]:
    m = _QUARTER_RE.match(text.strip())
    if not m:
        raise ValueError(f"quarter must look like 2024Q3, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _quarter_index(year: int, q: int) -> int:
    return year * 4 + (q - 1)


def _from_index(index: int) -> tuple[int, int]:
    return index // 4, index % 4 + 1


def _quarter_bounds(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    end = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    return start, end - dt.timedelta(days=1)


def _trend_t(year: int, q: int) -> int:
    return _quarter_index(year, q) - _quarter_index(*_TREND_ANCHOR)


def _rng(seed: int, source: str, year: int, q: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, _SOURCE_IDS[source], year, q, stream])


# --------------------------------------------------------------------------- helpers


def _scaled_poisson(rng: np.random.Generator, mean: float) -> int:
    return int(rng.poisson(max(mean, 0.0)))


def _multinomial(rng: np.random.Generator, n: int, shares: Sequence[float]) -> list[int]:
    p = np.asarray(shares, dtype=float)
    return [int(x) for x in rng.multinomial(n, p / p.sum())]


def _noisy_share(rng: np.random.Generator, base: float, sd: float, lo: float, hi: float) -> float:
    return float(np.clip(base + rng.normal(0.0, sd), lo, hi))


# --------------------------------------------------------------------------- Veilig Thuis


def _veilig_thuis(seed: int, year: int, q: int, scale: float) -> dict[str, list[dict]]:
    rng = _rng(seed, "veilig_thuis", year, q)
    t = _trend_t(year, q)
    # About 1,005 meldingen a quarter in 2023Q1, rising ~0.6 % a quarter (earlier signalling).
    region_mean = 1005.0 * (1.0 + 0.006 * t) * scale
    weights = np.array([pop * rate for _, _, pop, rate in GEMEENTEN], dtype=float)
    weights /= weights.sum()
    hermelding_share = max(0.10, 0.245 - 0.005 * t)
    periode = f"{year}Q{q}"

    rows: list[dict] = []
    for (naam, code, _pop, _rate), w in zip(GEMEENTEN, weights, strict=True):
        mean = region_mean * w
        totaal = _scaled_poisson(rng, mean)
        adviezen = _scaled_poisson(rng, mean * 0.985)
        kinds = _multinomial(rng, totaal, [0.40, 0.35, 0.07, 0.18])
        if (code, "meldingen_ouderenmishandeling") == SUPPRESSED_CELL and not 1 <= kinds[2] <= 4:
            # Keep the partner-suppressed cell a genuine 1..4 and the kinds summing exactly.
            target = int(rng.integers(1, 5))
            kinds[2] = 0
            rest = totaal - target
            if rest < 0:  # a tiny municipality at a tiny scale: grow the total instead
                totaal, rest = target, 0
            other = _multinomial(rng, rest, [0.40, 0.35, 0.18])
            kinds = [other[0], other[1], target, other[2]]
        melders = _multinomial(rng, totaal, [0.66, 0.22, 0.12])
        uniek = int(rng.binomial(totaal, _noisy_share(rng, 0.79, 0.02, 0.70, 0.88)))
        herm = int(rng.binomial(totaal, _noisy_share(rng, hermelding_share, 0.015, 0.05, 0.40)))
        huisverboden = min(10, _scaled_poisson(rng, 20.0 * scale * w))
        icm = _scaled_poisson(rng, 12.0 * scale * w)
        rows.append(
            {
                "periode": periode,
                "gemeente": code,
                "_naam": naam,
                "adviezen": adviezen,
                "meldingen_totaal": totaal,
                "meldingen_kindermishandeling": kinds[0],
                "meldingen_partnergeweld": kinds[1],
                "meldingen_ouderenmishandeling": kinds[2],
                "meldingen_overig": kinds[3],
                "melder_politie": melders[0],
                "melder_professional": melders[1],
                "melder_burger": melders[2],
                "unieke_casussen": uniek,
                "hermeldingen": herm,
                "tijdelijke_huisverboden": huisverboden,
                "icm_trajecten_gestart": icm,
            }
        )

    region_meldingen = sum(r["meldingen_totaal"] for r in rows)
    vb = int(rng.binomial(region_meldingen, _noisy_share(rng, 0.965, 0.01, 0.90, 1.0)))
    p5 = _noisy_share(rng, 0.86 + 0.008 * t, 0.012, 0.85, 0.92)
    wachtlijst = _scaled_poisson(rng, max(5.0, 80.0 - 6.0 * t) * scale)
    doorloop = {
        "periode": periode,
        "veiligheidsbeoordelingen": vb,
        "binnen_5_werkdagen": int(round(vb * p5)),
        "wachtlijst_einde_kwartaal": wachtlijst,
    }
    return {"Meldingen": rows, "Doorlooptijden": [doorloop]}


# --------------------------------------------------------------------------- WIJ


@dataclass
class _Case:
    casus_id: str
    wijk: str
    start: dt.date
    end: dt.date
    vorm: str
    doorverwezen: bool
    nazorg: bool
    kinderen: int


def _new_case_id(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        candidate = f"C-{int(rng.integers(0, 2**32)):08X}"
        # Opaque on sight: at least one hex letter, so it never reads as a number.
        if candidate not in used and any(c in "ABCDEF" for c in candidate[2:]):
            used.add(candidate)
            return candidate


def _simulate_cases(seed: int, last_index: int, scale: float,
                    wijken: Sequence[tuple[str, float]] = WIJKEN, stream: int = 0) -> list[_Case]:
    """All WIJ cases starting between the fixed simulation start and ``last_index``
    (a local team: its own wijken, its own random stream, a smaller scale)."""
    wijk_names = [w for w, _ in wijken]
    wijk_p = np.array([wt for _, wt in wijken], dtype=float)
    wijk_p /= wijk_p.sum()
    vorm_names = [v for v, _ in VORMEN_GEWELD]
    vorm_p = np.array([p for _, p in VORMEN_GEWELD], dtype=float)
    vorm_p /= vorm_p.sum()

    used: set[str] = set()
    cases: list[_Case] = []
    for index in range(_quarter_index(*_WIJ_SIM_START), last_index + 1):
        year, q = _from_index(index)
        rng = _rng(seed, "wij", year, q, stream)
        t = _trend_t(year, q)
        q_start, q_end = _quarter_bounds(year, q)
        days = np.array([q_start + dt.timedelta(days=i) for i in range((q_end - q_start).days + 1)])
        day_w = np.array([1.0 if d.weekday() < 5 else 0.12 for d in days])
        day_w /= day_w.sum()
        n_new = _scaled_poisson(rng, 268.0 * max(0.6, 1.0 + 0.012 * t) * scale)
        starts = np.sort(rng.choice(len(days), size=n_new, p=day_w))
        durations = np.minimum(
            np.rint(rng.lognormal(np.log(120.0), 0.7, size=n_new)), _WIJ_MAX_DURATION_DAYS
        )
        wijk_idx = rng.choice(len(wijk_names), size=n_new, p=wijk_p)
        vorm_idx = rng.choice(len(vorm_names), size=n_new, p=vorm_p)
        for i in range(n_new):
            start = days[starts[i]]
            end = start + dt.timedelta(days=int(durations[i]))
            vorm = vorm_names[vorm_idx[i]]
            if vorm == "kindermishandeling":
                kinderen = int(rng.choice([1, 2, 3, 4], p=[0.45, 0.33, 0.15, 0.07]))
            elif vorm == "ouderenmishandeling":
                kinderen = 0
            else:
                kinderen = int(rng.choice([0, 1, 2, 3, 4], p=[0.38, 0.25, 0.23, 0.10, 0.04]))
            p_vt = 0.42 if vorm in ("kindermishandeling", "eergerelateerd") else 0.26
            # Nazorg after closing becomes more common over time (action-plan goal).
            end_t = _trend_t(end.year, (end.month - 1) // 3 + 1)
            p_nazorg = float(np.clip(0.45 + 0.03 * end_t, 0.2, 0.85))
            cases.append(
                _Case(
                    casus_id=_new_case_id(rng, used),
                    wijk=wijk_names[wijk_idx[i]],
                    start=start,
                    end=end,
                    vorm=vorm,
                    doorverwezen=bool(rng.random() < p_vt),
                    nazorg=bool(rng.random() < p_nazorg),
                    kinderen=kinderen,
                )
            )
    return cases


@dataclass(frozen=True)
class _LocalTeam:
    org: Organisation
    cases: list[_Case]
    first: tuple[int, int]
    file: str


def _local_team(code: str, seed: int, last_index: int, scale: float) -> _LocalTeam:
    """A local team's case population: its municipality's wijken (include/wijken.csv), scaled
    by its population and rate relative to the city's, from its own random stream."""
    org = organisation("wij", code)
    if code not in LOCAL_TEAM_FILES:
        raise ValueError(f"no sample layout for local team {code!r}; known: {sorted(LOCAL_TEAM_FILES)}")
    first, file = LOCAL_TEAM_FILES[code]
    gemeente = org.gemeenten[0]
    pop = {c: (p, rate) for _, c, p, rate in GEMEENTEN}
    city_pop, city_rate = pop["GM0014"]
    own_pop, own_rate = pop[gemeente]
    wijken = tuple((w.naam, 1.0) for w in wijken_of(gemeente))
    stream = 100 + list(LOCAL_TEAM_FILES).index(code)
    team_scale = scale * own_pop * own_rate / (city_pop * city_rate)
    return _LocalTeam(org, _simulate_cases(seed, last_index, team_scale, wijken, stream), first, file)


def _wij_rows(cases: list[_Case], year: int, q: int) -> list[dict]:
    q_start, q_end = _quarter_bounds(year, q)
    periode = f"{year}Q{q}"
    rows = []
    for c in cases:
        if c.start > q_end or c.end < q_start:
            continue
        closed = c.end <= q_end
        rows.append(
            {
                "periode": periode,
                "casus_id": c.casus_id,
                "wijk": c.wijk,
                "startdatum": c.start,
                "einddatum": c.end if closed else None,
                "vorm_geweld": c.vorm,
                "doorverwezen_veilig_thuis": c.doorverwezen,
                "nazorg": c.nazorg if closed and _nazorg_known(c.casus_id) else None,
                "aantal_kinderen": c.kinderen,
            }
        )
    rows.sort(key=lambda r: (r["startdatum"], r["casus_id"]))
    return rows


def _nazorg_known(casus_id: str) -> bool:
    """Deterministic: about one closed case in ``NAZORG_BLANK_EVERY`` has a blank nazorg cell."""
    return int(casus_id.removeprefix("C-"), 16) % NAZORG_BLANK_EVERY != 0


def _groepsaanbod(seed: int, year: int, q: int, scale: float) -> list[dict]:
    rng = _rng(seed, "wij", year, q, stream=1)
    rows = []
    for wijk in GROEPSAANBOD_WIJKEN:
        for aanbod in GROEPSAANBOD:
            groepen = int(rng.choice([0, 1, 2, 3], p=[0.15, 0.5, 0.28, 0.07]))
            per_groep = 6.0 if aanbod == "Kikkergroep" else 7.0
            deelnemers = 0
            if groepen:
                deelnemers = int(np.clip(rng.poisson(groepen * per_groep * scale), 1, 25))
            rows.append(
                {
                    "periode": f"{year}Q{q}",
                    "wijk": wijk,
                    "aanbod": aanbod,
                    "groepen": groepen,
                    "deelnemers": deelnemers,
                }
            )
    if (year, q) == GROEP_NVT_QUARTER:
        not_run = [r for r in rows if r["groepen"] == 0]
        if not_run:
            not_run[0]["deelnemers"] = None        # written as GROEP_NVT_TEXT: unknown, not 0
    return rows


# --------------------------------------------------------------------------- Vrouwenopvang


def _vrouwenopvang(seed: int, year: int, q: int, scale: float) -> dict[str, list[dict]]:
    rng = _rng(seed, "vrouwenopvang", year, q)
    t = _trend_t(year, q)
    periode = f"{year}Q{q}"
    q_start, q_end = _quarter_bounds(year, q)
    n_days = (q_end - q_start).days + 1

    # Region about 70-80 aanmeldingen a quarter, the city about half.
    region_mean = 72.0 * (1.0 + 0.012 * t) * scale
    others = np.array([pop * rate for _, _, pop, rate in GEMEENTEN[1:]], dtype=float)
    weights = np.concatenate([[0.5], 0.5 * others / others.sum()])
    rows = []
    for (naam, code, _pop, _rate), w in zip(GEMEENTEN, weights, strict=True):
        mean = region_mean * w
        aanmeldingen = _scaled_poisson(rng, mean)
        volwassenen = int(rng.binomial(aanmeldingen, 0.30))
        kinderen = _scaled_poisson(rng, volwassenen * 1.0)
        ambulant = _scaled_poisson(rng, mean * 0.6)
        uitstroom = _scaled_poisson(rng, mean * 0.30)
        p_onbekend = max(0.08, 0.20 - 0.01 * t)
        split = _multinomial(rng, uitstroom, [0.36, 0.24, 0.20, p_onbekend])
        absent = (year, q) in VO_ABSENT_QUARTERS and naam in VO_ABSENT_GEMEENTEN
        if absent:
            # The shelter lists only municipalities that had clients (include/sources.yaml,
            # absent_gemeente: zero): these had none this quarter and get no row in the file.
            aanmeldingen = volwassenen = kinderen = ambulant = 0
            split = [0, 0, 0, 0]
        rows.append(
            {
                "periode": periode,
                "gemeente": code,
                "_naam": naam,
                "aanmeldingen": aanmeldingen,
                "opnames_volwassenen": volwassenen,
                "opnames_kinderen": kinderen,
                "ambulante_trajecten": ambulant,
                "uitstroom_zelfstandig": split[0],
                "uitstroom_terug_naar_huis": split[1],
                "uitstroom_andere_opvang": split[2],
                "uitstroom_onbekend": split[3],
                "_absent": absent,
            }
        )

    plaatsen = max(1, int(round(24 * scale)))
    occupancy = _noisy_share(rng, 0.86 + 0.004 * t, 0.03, 0.80, 0.97)
    bezet = min(plaatsen * n_days, int(round(plaatsen * n_days * occupancy)))
    personen = max(1, sum(r["opnames_volwassenen"] + r["opnames_kinderen"] for r in rows))
    verblijf = float(np.clip(bezet / personen * rng.normal(1.0, 0.06), 20.0, 120.0))
    capaciteit = {
        "periode": periode,
        "plaatsen_crisisopvang": plaatsen,
        "bezette_plaatsdagen": bezet,
        "wachtlijst_einde_kwartaal": _scaled_poisson(rng, max(3.0, 18.0 - 1.2 * t) * scale),
        "gemiddelde_verblijfsduur_dagen": round(verblijf, 1),
    }
    out = {"Opvang": rows, "Capaciteit": [capaciteit]}

    if q_end >= STEUNPUNT_OPENED:
        open_days = (q_end - max(q_start, STEUNPUNT_OPENED)).days + 1
        months_open = (q_end.year - STEUNPUNT_OPENED.year) * 12 + q_end.month - 11
        growth = (1.0 + 0.05 * max(0, months_open - 2)) * open_days / 91.0 * scale
        out["Steunpunt"] = [
            {
                "periode": periode,
                "inloopcontacten": _scaled_poisson(rng, 65.0 * growth),
                "telefonische_contacten": _scaled_poisson(rng, 110.0 * growth),
                "chatcontacten": _scaled_poisson(rng, 38.0 * growth),
            }
        ]
    return out


# --------------------------------------------------------------------------- workbooks

_TITLE_FONT = Font(bold=True, size=13)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_TOTAL_FONT = Font(bold=True)
_NOTE_FONT = Font(italic=True, size=9)
_DATE_FORMAT = "DD-MM-YYYY"
_MODIFIED_RE = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


@dataclass
class _Sheet:
    name: str
    title: str
    columns: Sequence[str]
    rows: list[list]  # cells as written (text, int, float, date, None)
    notes: list[str]
    total_label: str | None = None  # "Totaal" for the aggregate tables
    total_skip: int = 1  # leading columns that are not summed
    total_values: list | None = None  # sums to write (true sums, incl. suppressed cells)


def _write_sheet(ws, sheet: _Sheet) -> None:
    ncol = len(sheet.columns)
    ws["A1"] = sheet.title
    ws["A1"].font = _TITLE_FONT
    ws["A1"].alignment = Alignment(horizontal="left", vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(ncol, 2))
    ws.row_dimensions[1].height = 22

    for j, name in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=3, column=j, value=name)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    r = 4
    for values in sheet.rows:
        for j, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=j, value=value)
            if isinstance(value, dt.date):
                cell.number_format = _DATE_FORMAT
            elif isinstance(value, float):
                cell.number_format = "0.0"
            elif isinstance(value, str) and value == SUPPRESSED_TEXT:
                cell.alignment = Alignment(horizontal="right")
        r += 1
    if sheet.total_label is not None and sheet.total_values is not None:
        ws.cell(row=r, column=1, value=sheet.total_label).font = _TOTAL_FONT
        for j, value in enumerate(sheet.total_values, start=sheet.total_skip + 1):
            if value is not None:
                ws.cell(row=r, column=j, value=value).font = _TOTAL_FONT
        r += 1
    r += 1  # one blank row, so the note is two rows under the table
    for note in sheet.notes:
        ws.cell(row=r, column=1, value=note).font = _NOTE_FONT
        r += 1

    for j, name in enumerate(sheet.columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(11, min(34, len(name) + 3))
    ws.freeze_panes = "A4"


def _totals(rows: list[dict], columns: Sequence[str]) -> list[int]:
    return [sum(int(r[c]) for r in rows) for c in columns]


def _workbook_bytes(sheets: list[_Sheet], creator: str, stamp: dt.datetime) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        _write_sheet(wb.create_sheet(sheet.name), sheet)
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    wb.properties.created = stamp
    wb.properties.modified = stamp
    raw = io.BytesIO()
    wb.save(raw)
    # Re-pack with fixed zip timestamps so the same input gives the same bytes.
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the wall clock on save; pin it.
                data = _MODIFIED_RE.sub(
                    rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data
                )
            dst.writestr(fixed, data)
    return out.getvalue()


def _delivery_stamp(year: int, q: int) -> dt.datetime:
    """A plausible 'made on' moment: about three weeks after the quarter ended."""
    _, q_end = _quarter_bounds(year, q)
    return dt.datetime.combine(q_end + dt.timedelta(days=21), dt.time(10, 30))


def _vt_sheets(data: dict[str, list[dict]], year: int, q: int) -> list[_Sheet]:
    written = f"{year}-Q{q}"
    count_cols = VT_MELDINGEN_COLUMNS[2:]
    rows = []
    for r in data["Meldingen"]:
        cells: list = [written, r["_naam"]]
        for c in count_cols:
            value = r[c]
            if (r["gemeente"], c) == SUPPRESSED_CELL:
                value = SUPPRESSED_TEXT
            cells.append(value)
        rows.append(cells)
    meldingen = _Sheet(
        name="Meldingen",
        title=f"Veilig Thuis Groningen — kwartaalcijfers {year} Q{q}",
        columns=VT_MELDINGEN_COLUMNS,
        rows=rows,
        notes=[
            "Bron: registratie Veilig Thuis Groningen",
            "<5 = aantal van 1 tot en met 4, niet openbaar; het totaal is wel volledig.",
        ],
        total_label="Totaal",
        total_skip=2,
        total_values=_totals(data["Meldingen"], count_cols),
    )
    d = data["Doorlooptijden"][0]
    doorloop = _Sheet(
        name="Doorlooptijden",
        title=f"Veilig Thuis Groningen — veiligheidsbeoordelingen {year} Q{q}",
        columns=VT_DOORLOOP_COLUMNS,
        rows=[[written, *(d[c] for c in VT_DOORLOOP_COLUMNS[1:])]],
        notes=["Bron: registratie Veilig Thuis Groningen (regio Groningen)"],
    )
    return [meldingen, doorloop]


def _ja_nee(value: bool | None) -> str | None:
    if value is None:
        return None                    # a blank cell: not known (or not yet: an open case)
    return "ja" if value else "nee"


def _groep_cell(r: dict, c: str, year: int, q: int) -> object:
    if c == "deelnemers" and r["deelnemers"] is None:
        return GROEP_NVT_TEXT
    return r[c]


def _wij_sheets(cases: list[dict], groepen: list[dict] | None, year: int, q: int,
                naam: str = "WIJ Groningen") -> list[_Sheet]:
    written = f"{year}Q{q}"
    case_rows = [
        [
            written,
            r["casus_id"],
            r["wijk"],
            r["startdatum"],
            r["einddatum"],
            r["vorm_geweld"],
            _ja_nee(r["doorverwezen_veilig_thuis"]),
            _ja_nee(r["nazorg"]),
            r["aantal_kinderen"],
        ]
        for r in cases
    ]
    casussen = _Sheet(
        name="Casussen",
        title=f"{naam} — casussen huiselijk geweld en kindermishandeling {written}",
        columns=WIJ_CASUS_COLUMNS,
        rows=case_rows,
        notes=[
            f"Bron: registratie {naam} (gepseudonimiseerd); "
            "einddatum leeg = casus loopt nog aan het einde van het kwartaal"
        ],
    )
    if groepen is None:             # a local team without group programmes leaves the sheet out
        return [casussen]
    groep = _Sheet(
        name="Groepsaanbod",
        title=f"WIJ Groningen — groepsaanbod voor kinderen {written}",
        columns=WIJ_GROEP_COLUMNS,
        rows=[[written, *(_groep_cell(r, c, year, q) for c in WIJ_GROEP_COLUMNS[1:])] for r in groepen],
        notes=["Bron: registratie WIJ Groningen"],
        total_label="Totaal",
        total_skip=3,
        total_values=_group_totals(groepen),
    )
    return [casussen, groep]


def _group_totals(groepen: list[dict]) -> list[object]:
    """The Totaal row: a column with an unknown cell gets no total (the partner cannot know it)."""
    out: list[object] = []
    for c in WIJ_GROEP_COLUMNS[3:]:
        values = [r[c] for r in groepen]
        out.append(None if any(v is None for v in values) else int(sum(values)))
    return out


def _vo_sheets(data: dict[str, list[dict]], year: int, q: int) -> list[_Sheet]:
    written = f"Q{q} {year}"
    count_cols = VO_OPVANG_COLUMNS[2:]
    opvang = _Sheet(
        name="Opvang",
        title=f"Vrouwenopvang Groningen — opvang naar gemeente van herkomst, Q{q} {year}",
        columns=VO_OPVANG_COLUMNS,
        rows=[[written, r["_naam"], *(r[c] for c in count_cols)] for r in data["Opvang"] if not r["_absent"]],
        notes=["Bron: registratie Vrouwenopvang Groningen"],
        total_label="Totaal",
        total_skip=2,
        total_values=_totals(data["Opvang"], count_cols),
    )
    c = data["Capaciteit"][0]
    capaciteit = _Sheet(
        name="Capaciteit",
        title=f"Vrouwenopvang Groningen — capaciteit crisisopvang, Q{q} {year}",
        columns=VO_CAPACITEIT_COLUMNS,
        rows=[[written, *(c[k] for k in VO_CAPACITEIT_COLUMNS[1:])]],
        notes=["Bron: registratie Vrouwenopvang Groningen"],
    )
    sheets = [opvang, capaciteit]
    if "Steunpunt" in data:
        s = data["Steunpunt"][0]
        sheets.append(
            _Sheet(
                name="Steunpunt",
                title=f"Steunpunt huiselijk geweld — contacten, Q{q} {year}",
                columns=VO_STEUNPUNT_COLUMNS,
                rows=[[written, *(s[k] for k in VO_STEUNPUNT_COLUMNS[1:])]],
                notes=["Bron: registratie Steunpunt (geopend november 2024)"],
            )
        )
    return sheets


# --------------------------------------------------------------------------- truth


_TEXT_COLUMNS = {"periode", "gemeente", "casus_id", "wijk", "vorm_geweld", "aanbod"}
_DATE_COLUMNS = {"startdatum", "einddatum"}
_BOOL_COLUMNS = {"doorverwezen_veilig_thuis"}
_NULLABLE_COLUMNS = {"nazorg", "deelnemers"}     # True/False or counts, with None where the cell is blank / n.v.t.
_FLOAT_COLUMNS = {"gemiddelde_verblijfsduur_dagen"}


def _truth_frame(rows: list[dict], columns: Sequence[str]) -> pd.DataFrame:
    """Rows -> DataFrame with fixed dtypes (also when empty, e.g. Steunpunt before 2024Q4).

    Text: pandas' default string dtype; counts: int64; booleans: bool; floats:
    float64; dates: ``datetime.date`` objects (object dtype, ``None`` when empty);
    the partner-suppressed count column: Python ints with ``None`` (object dtype).
    """
    data = {}
    for c in columns:
        values = [r[c] for r in rows]
        if c in _TEXT_COLUMNS:
            data[c] = pd.Series(values, dtype=object).astype(str)
        elif c in _DATE_COLUMNS or c == SUPPRESSED_CELL[1] or c in _NULLABLE_COLUMNS:
            data[c] = pd.Series(values, dtype=object)
        elif c in _BOOL_COLUMNS:
            data[c] = pd.Series(values, dtype=bool)
        elif c in _FLOAT_COLUMNS:
            data[c] = pd.Series(values, dtype="float64")
        else:
            data[c] = pd.Series(values, dtype="int64")
    return pd.DataFrame(data, columns=list(columns))


def _vt_truth_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        r = dict(r)
        if r["gemeente"] == SUPPRESSED_CELL[0]:
            r[SUPPRESSED_CELL[1]] = None
        out.append(r)
    return out


# --------------------------------------------------------------------------- API


def generate_samples(
    out_dir: Path,
    quarters: Sequence[str] = QUARTERS_DEFAULT,
    seed: int = 20241,
    population_scale: float = 1.0,
    local_teams: Sequence[str] = (),
) -> SampleSet:
    """Write one synthetic workbook per source per quarter under ``out_dir``.

    ``out_dir`` is the inbox root; files go to each source's partner folder
    (``veilig_thuis/``, ``wij/wij-groningen/``, ``vrouwenopvang/``). Existing files with the same names are replaced atomically.
    ``local_teams`` (organisation codes of ``wij`` in include/organisaties.yaml) adds the
    WIJ-format case file of those local teams, in their own folders (``wij/het-hogeland/``),
    for their own wijken; their truth is under ``wij/<code>/Casussen``.
    """
    if isinstance(quarters, str):
        quarters = [quarters]
    parsed = [_parse_quarter(q) for q in quarters]
    if not parsed:
        raise ValueError("at least one quarter is needed")
    if len(set(parsed)) != len(parsed):
        raise ValueError("quarters must not repeat")
    if not population_scale > 0:
        raise ValueError("population_scale must be positive")
    parsed.sort()
    if parsed[0] < _WIJ_SIM_START:
        raise ValueError(
            f"quarters before {_WIJ_SIM_START[0]}Q{_WIJ_SIM_START[1]} are not supported"
        )
    out_dir = Path(out_dir)

    cases = _simulate_cases(seed, _quarter_index(*parsed[-1]), population_scale)
    teams = [_local_team(code, seed, _quarter_index(*parsed[-1]), population_scale) for code in local_teams]

    files: list[Path] = []
    truth_rows: dict[str, list[dict]] = {
        "veilig_thuis/Meldingen": [],
        "veilig_thuis/Doorlooptijden": [],
        "wij/Casussen": [],
        "wij/Groepsaanbod": [],
        "vrouwenopvang/Opvang": [],
        "vrouwenopvang/Capaciteit": [],
        "vrouwenopvang/Steunpunt": [],
    }
    for year, q in parsed:
        stamp = _delivery_stamp(year, q)

        vt = _veilig_thuis(seed, year, q, population_scale)
        path = out_dir / "veilig_thuis" / f"VeiligThuis_Groningen_{year}-Q{q}.xlsx"
        _write_atomic(
            path, _workbook_bytes(_vt_sheets(vt, year, q), "Veilig Thuis Groningen", stamp)
        )
        files.append(path)
        truth_rows["veilig_thuis/Meldingen"] += _vt_truth_rows(vt["Meldingen"])
        truth_rows["veilig_thuis/Doorlooptijden"] += vt["Doorlooptijden"]

        case_rows = _wij_rows(cases, year, q)
        groepen = _groepsaanbod(seed, year, q, population_scale)
        path = out_dir / original("wij").folder / f"WIJ_casussen_{year}Q{q}.xlsx"
        sheets = _wij_sheets(case_rows, groepen, year, q)
        _write_atomic(path, _workbook_bytes(sheets, "WIJ Groningen", stamp))
        files.append(path)
        truth_rows["wij/Casussen"] += case_rows
        truth_rows["wij/Groepsaanbod"] += groepen

        for team in teams:
            if (year, q) < team.first:
                continue
            rows = _wij_rows(team.cases, year, q)
            path = out_dir / team.org.folder / team.file.format(year=year, q=q)
            _write_atomic(path, _workbook_bytes(_wij_sheets(rows, None, year, q, team.org.naam), team.org.naam, stamp))
            files.append(path)
            truth_rows.setdefault(f"wij/{team.org.code}/Casussen", []).extend(rows)

        vo = _vrouwenopvang(seed, year, q, population_scale)
        path = out_dir / "vrouwenopvang" / f"Vrouwenopvang_{year}_Q{q}.xlsx"
        _write_atomic(
            path, _workbook_bytes(_vo_sheets(vo, year, q), "Vrouwenopvang Groningen", stamp)
        )
        files.append(path)
        truth_rows["vrouwenopvang/Opvang"] += vo["Opvang"]
        truth_rows["vrouwenopvang/Capaciteit"] += vo["Capaciteit"]
        truth_rows["vrouwenopvang/Steunpunt"] += vo.get("Steunpunt", [])

    columns = {
        "veilig_thuis/Meldingen": VT_MELDINGEN_COLUMNS,
        "veilig_thuis/Doorlooptijden": VT_DOORLOOP_COLUMNS,
        "wij/Casussen": WIJ_CASUS_COLUMNS,
        "wij/Groepsaanbod": WIJ_GROEP_COLUMNS,
        "vrouwenopvang/Opvang": VO_OPVANG_COLUMNS,
        "vrouwenopvang/Capaciteit": VO_CAPACITEIT_COLUMNS,
        "vrouwenopvang/Steunpunt": VO_STEUNPUNT_COLUMNS,
    }
    truth = {key: _truth_frame(rows, columns.get(key, WIJ_CASUS_COLUMNS)) for key, rows in truth_rows.items()}
    return SampleSet(files=files, truth=truth, root=out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: write a sample inbox and print the files written."""
    parser = argparse.ArgumentParser(
        prog="python -m etl samples",
        description="Write deterministic synthetic partner workbooks (no real data).",
    )
    parser.add_argument("--out", required=True, type=Path, help="inbox root to write into")
    parser.add_argument("--seed", type=int, default=20241, help="random seed (default 20241)")
    parser.add_argument(
        "--quarters",
        default=",".join(QUARTERS_DEFAULT),
        help="comma-separated quarters like 2024Q1,2024Q2 (default 2023Q1..2024Q4)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="population scale for counts (default 1.0)"
    )
    parser.add_argument(
        "--lokale-teams",
        default=",".join(DEMO_LOCAL_TEAMS),
        help="local teams (wij organisation codes) that deliver too; empty for none "
        f"(default {','.join(DEMO_LOCAL_TEAMS)})",
    )
    args = parser.parse_args(argv)
    quarters = [q.strip() for q in args.quarters.split(",") if q.strip()]
    try:
        teams = [t.strip() for t in args.lokale_teams.split(",") if t.strip()]
        result = generate_samples(args.out, quarters, seed=args.seed, population_scale=args.scale,
                                  local_teams=teams)
    except ValueError as exc:
        parser.error(str(exc))
    for path in result.files:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
