"""HTML for the Leveringen page: server-rendered, no JavaScript, readable without colour.

Every cell says its state in a word and a symbol; the colour only repeats it (and the
symbols differ in shape, not only in hue). Everything from the store is escaped. The
layout fits a 1366 px laptop screen for eight quarters; more quarters scroll sideways
with the partner column kept in view.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from etl.core.quarters import label_nl
from etl.ui.leveringen import Matrix

CSS = """
body{font-family:system-ui,"DejaVu Sans",Arial,sans-serif;margin:16px;color:#1a1a1a;font-size:14px;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:17px;margin:20px 0 6px} p.sub{margin:0 0 12px;color:#444}
.wrap{overflow-x:auto;max-width:100%}
table.m{border-collapse:collapse;min-width:640px}
table.m th,table.m td{border:1px solid #999;padding:6px 8px;text-align:left;vertical-align:top}
table.m thead th{background:#f0f0f0;white-space:nowrap}
table.m th.p{position:sticky;left:0;background:#fafafa;min-width:150px}
td.c{min-width:96px}
td.c a{color:inherit;text-decoration:none;display:block}
td.c a:hover,td.c a:focus{text-decoration:underline;outline:2px solid #333}
.s{font-weight:600;white-space:nowrap} .n{font-size:12px;color:#333;display:block;margin-top:2px}
.aangenomen{background:#d8f0dc} .waarschuwingen{background:#fff1c2} .vervangen{background:#d6e6fb}
.afgekeurd{background:#f7d4d7} .te_laat{background:#ffd9b0} .ontbreekt{background:#ececec}
.sel{outline:3px solid #1a1a1a;outline-offset:-3px}
ul.legend{list-style:none;padding:0;margin:8px 0;display:flex;flex-wrap:wrap;gap:6px}
ul.legend li{padding:3px 8px;border:1px solid #999}
.detail{border:1px solid #999;padding:10px 14px;margin-top:14px;max-width:1100px}
pre.bon{white-space:pre-wrap;background:#f7f7f7;border:1px solid #ccc;padding:8px;max-height:420px;overflow:auto;font-size:12px}
table.pr{border-collapse:collapse} table.pr td,table.pr th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
.overige{font-size:12px;margin:2px 0 0}
"""


def _cell(base: str, c, selected: str | None) -> str:
    notes = "".join(f'<span class="n">{escape(n)}</span>' for n in c.notes)
    title = f"{c.label}, {c.periode}"
    inner = f'<span class="s">{escape(c.symbol)} {escape(c.label)}</span>{notes}'
    if c.levering_id:
        href = f"{base}/?levering={quote(c.levering_id)}#levering"
        inner = f'<a href="{escape(href)}" title="{escape(title)} — open de levering">{inner}</a>'
    sel = " sel" if selected and c.levering_id == selected else ""
    return (f'<td class="c {c.state}{sel}" data-bron="{escape(c.bron)}" data-kwartaal="{escape(c.periode)}" '
            f'data-status="{escape(c.state)}" data-organisatie="{escape(c.organisatie)}">{inner}</td>')


def matrix_table(m: Matrix, base: str, selected: str | None = None) -> str:
    if not m.quarters:
        return '<p id="leeg">Nog geen leveringen in de store. Zodra een partner een bestand aanlevert, staat het hier.</p>'
    head = "".join(f'<th scope="col" title="{escape(label_nl(q))}">{escape(q)}</th>' for q in m.quarters)
    rows = []
    for r in m.rows:
        overige = "".join(
            f'<div class="overige">✗ {escape(o["tekst"])} (ontvangen {escape(o["ontvangen_op"][:10])})</div>'
            for o in r.overige)
        cells = "".join(_cell(base, c, selected) for c in r.cells)
        rows.append(f'<tr><th scope="row" class="p">{escape(r.naam)}{overige}</th>{cells}</tr>')
    return (f'<div class="wrap"><table class="m" id="matrix"><caption class="sub" style="text-align:left">'
            f'Stand op {escape(m.today)}; klik op een cel voor het ontvangstbewijs.</caption>'
            f'<thead><tr><th scope="col" class="p">Partner</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def legend(m: Matrix) -> str:
    items = "".join(f'<li class="{k}">{escape(s)} {escape(lbl)}</li>' for k, s, lbl in m.legend)
    return f'<ul class="legend" aria-label="Legenda">{items}</ul>'


def detail_block(d: dict, base: str) -> str:
    if d.get("afgeschermd"):
        return (f'<section class="detail" id="levering"><h2>Levering</h2><p><strong>{escape(d["status"])}</strong>'
                '</p><p>Dit bestand is afgeschermd bewaard; details alleen via de functionaris gegevensbescherming.</p>'
                '</section>')
    parts = [f'<section class="detail" id="levering"><h2>Levering {escape(d["bestandsnaam"])}</h2>',
             '<table class="pr">',
             f'<tr><th>Organisatie</th><td>{escape(d.get("organisatie_naam") or "")}</td></tr>',
             f'<tr><th>Status</th><td>{escape(d["status"])}</td></tr>',
             f'<tr><th>Ontvangen</th><td>{escape(d["ontvangen"])}</td></tr>',
             f'<tr><th>Kenmerk</th><td>{escape(d["levering_id"])}</td></tr>',
             f'<tr><th>Kwartalen</th><td>{escape(", ".join(d["kwartalen"]) or "geen herkend")}</td></tr>']
    if d["vervangt"]:
        items = "; ".join(f'{v["periode"]}: {v["bestandsnaam"]} (ontvangen {v["ontvangen"]}, kenmerk {v["levering_id"]})'
                          for v in d["vervangt"])
        parts.append(f'<tr><th>Vervangt</th><td>{escape(items)}</td></tr>')
    if d["vervangen_door"]:
        items = "; ".join(f'{v["periode"]}: {v["bestandsnaam"]} (kenmerk {v["levering_id"]})' for v in d["vervangen_door"])
        parts.append(f'<tr><th>Vervangen door</th><td>{escape(items)}</td></tr>')
    if d["gemarkeerde_kopie"]:
        href = f'{base}/levering/{quote(d["levering_id"])}/gemarkeerd.xlsx'
        parts.append(f'<tr><th>Gemarkeerde kopie</th><td><a href="{escape(href)}" download>download (.xlsx)</a></td></tr>')
    parts.append("</table>")
    if d["problemen"]:
        parts.append(f'<h2>Punten ({len(d["problemen"])})</h2><table class="pr"><tr><th>ernst</th><th>waar</th>'
                     '<th>wat we vonden</th><th>wat aanpassen</th></tr>')
        for p in d["problemen"]:
            waar = ", ".join(x for x in (p["tabblad"] and f'tabblad {p["tabblad"]}', p["kolom"] and f'kolom {p["kolom"]}',
                                         p["regels"] and "regel " + ", ".join(map(str, p["regels"]))) if x)
            parts.append(f'<tr><td>{escape(p["ernst"] or "")}</td><td>{escape(waar)}</td><td>{escape(p["melding"] or "")}'
                         f'</td><td>{escape(p["oplossing"])}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>Geen punten gevonden.</p>")
    parts.append("<h2>Ontvangstbewijs</h2>")
    if d["ontvangstbewijs"] is None:
        parts.append("<p>Het ontvangstbewijs is niet (meer) gevonden in de outbox.</p>")
    else:
        parts.append(f'<pre class="bon">{escape(d["ontvangstbewijs"])}</pre>')
    parts.append(f'<p><a href="{escape(base)}/">sluiten</a></p></section>')
    return "".join(parts)


def page(m: Matrix, detail: dict | None, base: str, user: str) -> str:
    body = [f'<h1>Leveringen per partner en kwartaal</h1><p class="sub">Ingelogd als {escape(user)}. '
            'Per kwartaal de stand van de actuele levering.</p>', legend(m),
            matrix_table(m, base, detail["levering_id"] if detail else None)]
    if detail:
        body.append(detail_block(detail, base))
    return _doc("Leveringen", "".join(body))


def error_page(code: int, message: str) -> str:
    hint = ""
    if code == 401:
        hint = '<p>U bent niet ingelogd. <a href="/auth/login/?next=/leveringen/" target="_top">Inloggen bij Airflow</a></p>'
    return _doc("Leveringen", f"<h1>Leveringen</h1><p>{escape(message)} ({code}).</p>{hint}")


def _doc(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title)}</title><style>{CSS}</style></head>'
            f"<body>{body}</body></html>")
