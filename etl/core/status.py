"""Fixed vocabularies shared by the store, the receipts, the workbook and the tests.

Values are the Dutch words stored in the database and shown in receipts, so a
``StrEnum`` member compares equal to the stored text and old stores need no migration.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """The outcome of one delivery."""

    ACCEPTED = "geaccepteerd"
    REJECTED = "afgekeurd"
    DUPLICATE = "dubbel"


class Severity(StrEnum):
    ERROR = "fout"
    WARNING = "waarschuwing"
