"""Disclosure control: the one function that decides which counts may leave the pipeline.

The contract ("Disclosure control in reports"): counts from 1 to 4 are shown as ``<5``
in anything that leaves the pipeline, and a total that would let a reader recompute a
suppressed cell gets a secondary suppression. Zero is shown as 0. The internal dataset
keeps exact values; only views (workbooks, exports) are suppressed, and every view is
built from the result of :func:`suppress`, so a cell is hidden the same way wherever
it appears (a cell hidden in one table and visible in another would undo the hiding).

How :func:`suppress` works, on one "table view" described as cells plus additive
constraints (``total = part_1 + ... + part_n``: a region row over municipalities, a
total over kinds of violence, a subtotal of northern districts):

1. **Primary.** Every count cell with a whole value 1..4 is hidden (shown ``<5``); a
   cell the partner already delivered as ``<5`` is hidden the same way. Zero and
   missing cells are never primary-suppressed.
2. **Secondary, per constraint.** If a constraint has exactly one unknown cell and
   that cell is hidden, ``total - visible parts`` would reveal it. The smallest visible
   non-zero *part* of that constraint is hidden too (the total only when no part is
   available), shown ``x``. Repeated until no constraint has a single hidden unknown.
3. **Secondary, linear audit.** Constraints combine: a hidden cell can be recoverable
   from several equations together even when each one has two unknowns. The cells that
   are still unknown (hidden or missing) form the system ``A x = b``; a hidden cell is
   exactly recoverable iff its unit vector lies in the row space of ``A``, i.e. every
   null-space vector of ``A`` is zero there. Such a cell gets one more secondary
   suppression (smallest visible non-zero cell in a constraint that touches it), and
   the audit repeats until no hidden cell is recoverable.
4. **Derived figures** (rates, shares, intervals, medians of a handful of cases) are
   hidden when any count they are computed from is hidden: a rate per 1,000 times the
   population gives the count back.

Not covered, on purpose: interval (bounds) disclosure from non-negativity (a reader
knows a ``<5`` lies in 1..4 by definition) and disclosure by differencing workbooks of
different quarters beyond the four-quarter views the report builds itself (a
four-quarter sum is judged on its own merits, with the published quarterly cells as
``fixed`` cells of the same system, so no sum reveals a hidden quarter: see
``etl.report.protect.protect_sums``).

Display symbols, explained on every sheet's legend:

* ``<5``  a count of 1 to 4 (primary, or suppressed by the partner);
* ``x``   hidden so that no total or difference reveals a ``<5`` (secondary), or a
  figure computed from a hidden count (derived).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

LOW, HIGH = 1, 4
PRIMARY_TEXT = "<5"
SECONDARY_TEXT = "x"

# Why a cell is hidden (or not shown); stable strings, also used in the Data sheet.
PRIMARY = "primair"          # 1..4
PARTNER = "partner"          # delivered as <5 by the partner
SECONDARY = "secundair"      # would let a total or difference reveal a hidden cell
DERIVED = "afgeleid"         # computed from a hidden count
MISSING = "ontbreekt"        # no value (not delivered): never shown as 0

_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Constraint(Generic[K]):
    """``total == sum(parts)``: an equation a reader of the table can use."""

    total: K
    parts: tuple[K, ...]


@dataclass(frozen=True, slots=True)
class Shown:
    """One cell after disclosure control.

    ``value`` is the exact value (internal use only: statistics on visible cells);
    ``shown`` is what may leave the pipeline: the number, ``"<5"``, ``"x"`` or
    ``None`` for a missing value. ``reason`` is None for a visible number.
    """

    value: float | None
    shown: float | str | None
    reason: str | None

    @property
    def hidden(self) -> bool:
        return self.reason in (PRIMARY, PARTNER, SECONDARY, DERIVED)

    @property
    def missing(self) -> bool:
        return self.reason == MISSING

    @property
    def visible(self) -> float | None:
        """The number if it may be shown, else None (hidden or missing)."""
        return self.value if self.reason is None else None


def is_small(value: float | None) -> bool:
    """A count that must be shown as ``<5``: a whole number from 1 to 4."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return LOW <= value <= HIGH and float(value).is_integer()


def _clean(v: object) -> float | None:
    if v is None:
        return None
    f = float(v)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def suppress(
    counts: Mapping[K, float | None],
    constraints: Iterable[Constraint[K]] = (),
    *,
    partner: Collection[K] = (),
    also_hidden: Collection[K] = (),
    derived: Mapping[K, tuple[float | None, tuple[K, ...]]] | None = None,
    fixed: Mapping[K, str | None] | None = None,
) -> dict[K, Shown]:
    """Disclosure control for one table view (see the module docstring for the method).

    ``counts``       every count cell of the view: key -> exact value (None = missing);
    ``constraints``  the additive relations a reader can use (keys must be in ``counts``);
    ``partner``      keys the partner delivered as ``<5`` (their value is None);
    ``also_hidden``  keys to hide and protect regardless of value (a four-quarter sum
                     that contains a hidden quarter; a region total the pipeline does not
                     know because a municipality was delivered as ``<5``), shown ``x``;
    ``derived``      measure cells: key -> (exact value, keys of the counts it is
                     computed from); hidden when any input is hidden.
    ``fixed``        cells already published elsewhere: key -> their reason there (None =
                     shown). They keep that state, are never chosen for a secondary
                     suppression, and their hidden ones are audited like any other; used
                     for the quarterly cells under a four-quarter sum.

    Returns one :class:`Shown` per key of ``counts`` and ``derived``. Deterministic:
    ties are broken by the order of ``counts``.
    """
    keys = list(counts)
    index = {k: i for i, k in enumerate(keys)}
    values = [_clean(counts[k]) for k in keys]
    partner_set = set(partner)
    reason: list[str | None] = [None] * len(keys)
    frozen = fixed or {}
    for i, k in enumerate(keys):
        if k in frozen:
            reason[i] = frozen[k]
        elif k in partner_set:
            reason[i] = PARTNER
        elif k in also_hidden:
            reason[i] = SECONDARY  # even without a value: shown "x", and kept unrecoverable
        elif values[i] is None:
            reason[i] = MISSING
        elif is_small(values[i]):
            reason[i] = PRIMARY

    cons: list[tuple[int, tuple[int, ...]]] = []
    for c in constraints:
        try:
            cons.append((index[c.total], tuple(index[p] for p in c.parts)))
        except KeyError as exc:
            raise KeyError(f"constraint refers to a cell not in counts: {exc.args[0]!r}") from None

    def unknown(i: int) -> bool:
        return reason[i] is not None

    def protected(i: int) -> bool:
        return reason[i] is not None and reason[i] != MISSING

    def pick(candidates: Iterable[int], total: int | None = None, allow_zero: bool = False) -> int | None:
        """Smallest visible non-zero cell, parts before the total, then by position."""
        best = None
        for j in candidates:
            if unknown(j) or keys[j] in frozen or (values[j] == 0 and not allow_zero):
                continue
            rank = (j == total, values[j], j)
            if best is None or rank < best[0]:
                best = (rank, j)
        return None if best is None else best[1]

    def hide_near(i: int) -> bool:
        """Hide one more cell so that cell ``i`` gets closer to unrecoverable; False if none is left."""
        touching = [c for c in cons if i == c[0] or i in c[1]]
        # Prefer constraints with the fewest unknowns: they are the ones that reveal i.
        touching.sort(key=lambda c: sum(unknown(j) for j in (c[0], *c[1])))
        # A zero is hidden only as the very last resort ("zero stays 0"): it protects little.
        for allow_zero in (False, True):
            for group in (touching, cons):
                for total, parts in group:
                    j = pick((total, *parts), total, allow_zero)
                    if j is not None:
                        reason[j] = SECONDARY
                        return True
        return False

    # Step 2: one constraint at a time.
    changed = True
    while changed:
        changed = False
        for total, parts in cons:
            members = (total, *parts)
            unknowns = [j for j in members if unknown(j)]
            if len(unknowns) == 1 and protected(unknowns[0]):
                changed = hide_near(unknowns[0]) or changed

    # Step 3: the linear audit over all constraints together.
    if cons:
        matrix = np.zeros((len(cons), len(keys)))
        for r, (total, parts) in enumerate(cons):
            matrix[r, total] += 1.0
            for p in parts:
                matrix[r, p] -= 1.0
        while True:
            hit = _recoverable(matrix, [unknown(i) for i in range(len(keys))],
                               [protected(i) for i in range(len(keys))])
            if hit is None or not hide_near(hit):
                break

    out: dict[K, Shown] = {}
    for i, k in enumerate(keys):
        r = reason[i]
        if r is None:
            out[k] = Shown(values[i], values[i], None)
        elif r == MISSING:
            out[k] = Shown(None, None, MISSING)
        elif r in (PRIMARY, PARTNER):
            out[k] = Shown(values[i], PRIMARY_TEXT, r)
        else:
            out[k] = Shown(values[i], SECONDARY_TEXT, r)
    for k, (value, inputs) in (derived or {}).items():
        if k in out:
            raise KeyError(f"derived key {k!r} is also a count")
        v = _clean(value)
        try:
            ins = [out[x] for x in inputs]
        except KeyError as exc:
            raise KeyError(f"derived {k!r} depends on an unknown count {exc.args[0]!r}") from None
        if any(s.hidden for s in ins):
            out[k] = Shown(v, SECONDARY_TEXT, DERIVED)
        elif v is None or any(s.missing for s in ins):
            out[k] = Shown(None, None, MISSING)
        else:
            out[k] = Shown(v, v, None)
    return out


def _recoverable(matrix: np.ndarray, unknown: list[bool], protected: list[bool]) -> int | None:
    """The first protected cell whose exact value follows from the constraints, or None.

    With visible cells moved to the right-hand side, the unknowns satisfy ``A x = b``.
    ``x_i`` is determined iff every vector of the null space of ``A`` has a zero in
    position ``i``.
    """
    cols = [i for i, u in enumerate(unknown) if u]
    if not cols:
        return None
    sub = matrix[:, cols]
    rows = np.any(np.abs(sub) > _TOL, axis=1)
    sub = sub[rows]
    if sub.shape[0] == 0:
        return None
    # Null space via SVD: right singular vectors beyond the rank.
    _, s, vt = np.linalg.svd(sub)
    rank = int(np.sum(s > _TOL * max(sub.shape) * (s[0] if s.size else 1.0)))
    null = vt[rank:].T  # columns span the null space
    for pos, i in enumerate(cols):
        if not protected[i]:
            continue
        if null.shape[1] == 0 or np.all(np.abs(null[pos]) < 1e-7):
            return i
    return None


def shown_count(value: float | None) -> float | str | None:
    """A single count with no table around it (no total can reveal it): ``<5`` for 1..4.

    A thin wrapper over :func:`suppress`, so there is still one rule.
    """
    return suppress({0: value})[0].shown
