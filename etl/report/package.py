"""Saving the workbook reproducibly and atomically.

openpyxl stamps ``docProps/core.xml`` with the wall clock on save and the zip entries
with the current time. For the same inputs and the same ``made_at`` the workbook must
be the same bytes (so a re-run of the quarterly DAG is visibly a no-op, and a
difference means the data changed): the zip is rewritten with a fixed entry time,
entries in a fixed order, fixed permissions, and the document times set to ``made_at``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from openpyxl.workbook import Workbook

from etl.core.files import write_atomic  # noqa: F401 - re-exported for report and templates

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIRST = ("[Content_Types].xml", "_rels/.rels")
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _order(name: str) -> tuple[int, str]:
    return (_FIRST.index(name), "") if name in _FIRST else (len(_FIRST), name)


def to_bytes(wb: Workbook, made_at: dt.datetime) -> bytes:
    stamp = made_at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    raw = io.BytesIO()
    wb.save(raw)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
        for name in sorted(src.namelist(), key=_order):
            data = src.read(name)
            if name == "docProps/core.xml":
                data = _CORE_TIME.sub(rb"\g<1>" + iso + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            dst.writestr(info, data)
    return out.getvalue()


