"""The HTML renderer: one self-contained page (inline CSS, an inline sorter script, figures as base64 PNG).

Nothing is loaded from the network, and every string of the document goes through ``esc``, so
user data (study names, failure reasons, architecture summaries, file paths) cannot inject markup.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from nasbench.report.render import document

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1300px;
     padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
li.missed{color:#a00;font-weight:bold}
tr.documented td{background:#fafafa;color:#555;font-style:italic}
tr.baseline td{background:#fff6f0}
code{font-size:.92em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
.summary{background:#f3f8ff;border-left:4px solid #1f77b4;padding:.6em 1em}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dl.kv dt{font-weight:600}
dl.kv dd{margin:0}
"""

# Click a header to sort (numbers by their data-v value, blanks last); ``#sort=col`` or
# ``#sort=-col`` in the URL opens the page sorted. Marks <body data-ready="1"> once set up.
JS = """
(function () {
  function key(td) {
    var v = td.getAttribute("data-v");
    if (v === null) { return td.textContent.trim().toLowerCase(); }
    return v === "" ? null : parseFloat(v);
  }
  function sortTable(table, th, descending) {
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x === null) { return y === null ? 0 : 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        sortTable(table, th, th.getAttribute("aria-sort") === "ascending");
      });
    });
  });
  var m = /^#sort=(-?)([\\w.]+)$/.exec(window.location.hash);
  if (m) {
    var th = document.querySelector('table.sortable th[data-key="' + m[2] + '"]');
    if (th) { sortTable(th.closest("table"), th, m[1] === "-"); }
  }
  document.body.setAttribute("data-ready", "1");
})();
"""


def esc(value: str) -> str:
    return escape(value, quote=True)


def render(doc: document.Document) -> str:
    """The whole page: each top-level block on its own source line."""
    body = "\n".join([f"<h1>{esc(doc.heading)}</h1>", *(_block(b, 2) for b in doc.blocks)])
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(doc.page_title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
        f"<script>{JS}</script>\n</body></html>\n"
    )


def write(doc: document.Document, path: Path) -> Path:
    path.write_text(render(doc), encoding="utf-8")
    return path


def _block(block: document.Block, level: int) -> str:
    if isinstance(block, document.Paragraph):
        return f"<p{_attr('id', block.id)}>{_inline(block.runs)}</p>"
    if isinstance(block, document.Summary):
        return '<div class="summary">' + "".join(f"<p>{esc(s)}</p>" for s in block.sentences) + "</div>"
    if isinstance(block, document.Bullets):
        return "<ul>" + "".join(_item(i) for i in block.items) + "</ul>"
    if isinstance(block, document.KeyValues):
        return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in block.pairs) + "</dl>"
    if isinstance(block, document.Table):
        return _table(block)
    if isinstance(block, document.Figure):
        return _figure(block)
    if isinstance(block, document.Group):
        return "".join(_block(b, level) for b in block.blocks)
    if isinstance(block, document.Section):
        parts = [f"<h{level}>{esc(block.title)}</h{level}>", *(_block(b, level + 1) for b in block.blocks)]
        return ("" if block.inline else "\n").join(parts)
    if isinstance(block, document.Only):
        return _block(block.content, level) if block.format == document.Format.HTML else ""  # type: ignore[arg-type]
    raise TypeError(f"not a block: {block!r}")


def _attr(name: str, value: str) -> str:
    return f' {name}="{esc(value)}"' if value else ""


def _item(item: document.Item | str) -> str:
    item = item if isinstance(item, document.Item) else document.Item(item)
    return f"<li{_attr('class', item.css)}>{esc(item.text)}</li>"


def _inline(runs: tuple[document.Inline, ...]) -> str:
    return "".join(_run(r) for r in runs)


def _run(run: document.Inline) -> str:
    if isinstance(run, str):
        return esc(run)
    if isinstance(run, document.Strong):
        return f"<b>{esc(run.text)}</b>"
    if isinstance(run, document.Code):
        return f"<code>{esc(run.text)}</code>"
    if isinstance(run, document.Only):
        return _run(run.content) if run.format == document.Format.HTML else ""  # type: ignore[arg-type]
    raise TypeError(f"not inline content: {run!r}")


def _table(table: document.Table) -> str:
    head = "".join(f'<th data-key="{esc(c.anchor)}">{esc(c.label)}</th>' for c in table.columns)
    body = "".join(_row(r) for r in table.rows)
    attrs = _attr("id", table.id) + (' class="sortable"' if table.sortable else "")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _row(row: document.Row) -> str:
    return f"<tr{_attr('class', row.css)}>" + "".join(_cell(c) for c in row.cells) + "</tr>"


def _cell(cell: document.Cell) -> str:
    if isinstance(cell, document.Number):
        v = "" if cell.sort is None else repr(cell.sort)
        return f'<td class="num" data-v="{v}">{esc(cell.text)}</td>'
    return f"<td>{_run(cell)}</td>"


def _figure(fig: document.Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    caption = f"<figcaption>{esc(fig.caption)}</figcaption>" if fig.caption else ""
    return (
        f'<figure id="plot-{esc(fig.key)}"><img alt="{esc(fig.title)}" src="data:image/png;base64,{data}">'
        f"{caption}</figure>"
    )
