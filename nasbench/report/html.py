"""The self-contained HTML report: inline CSS, inline JS sorter, plots as base64 PNG.

Nothing is loaded from the network, and every string that comes from the user or the data
(study names, architecture summaries, failure reasons, file paths) goes through ``esc``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from nasbench.report import documented
from nasbench.report.format import (
    fmt_acc,
    fmt_float,
    fmt_int,
    fmt_seconds,
    missing,
    training_cost,
    training_seconds,
)
from nasbench.report.plots import Plot
from nasbench.report.study import (
    StudyData,
    protocol,
    provenance_lines,
    state_counts,
    utc_now,
)
from nasbench.report.targets import check_targets, describe

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


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class Cell:
    text: str  # already escaped HTML
    sort: float | None = None  # numeric sort key; None = sort by text
    numeric: bool = False


def num(value: object, text: str) -> Cell:
    return Cell(esc(text), None if missing(value) else float(value), numeric=True)


def text(value: object, code: bool = False) -> Cell:
    return Cell(f"<code>{esc(value)}</code>" if code else esc(value))


def table(headers: Sequence[tuple[str, str]], rows: Iterable[tuple[str, list[Cell]]], sortable: bool = False,
          table_id: str = "") -> str:
    """headers: (key, label); rows: (css class, cells)."""
    head = "".join(f'<th data-key="{esc(k)}">{esc(label)}</th>' for k, label in headers)
    body = []
    for css, cells in rows:
        tds = "".join(_td(c) for c in cells)
        body.append(f'<tr class="{esc(css)}">{tds}</tr>' if css else f"<tr>{tds}</tr>")
    attrs = (f' id="{esc(table_id)}"' if table_id else "") + (' class="sortable"' if sortable else "")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _td(c: Cell) -> str:
    if not c.numeric:
        return f"<td>{c.text}</td>"
    v = "" if c.sort is None else repr(c.sort)
    return f'<td class="num" data-v="{v}">{c.text}</td>'


def figure(p: Plot) -> str:
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure id="plot-{esc(p.key)}"><img alt="{esc(p.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(p.caption)}</figcaption></figure>")


def kv_list(items: list[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<script>{JS}</script>\n</body></html>\n")


# --- the study report --------------------------------------------------------------------------

BOARD_HEADERS = [("rank", "rank"), ("name", "name"), ("family", "family"), ("params", "params"),
                 ("flops", "FLOPs"), ("latency_ms", "latency (ms)"), ("val_acc", "val acc"),
                 ("final_val_acc", "final val acc"), ("test_acc", "test acc"), ("train_time_s", "training cost")]


def board_rows(board: pd.DataFrame) -> list[tuple[str, list[Cell]]]:
    rows = []
    for _, r in board.iterrows():
        rows.append(("baseline" if r["family"] == "zoo baseline" else "searched", [
            num(r["rank"], str(r["rank"])), text(r["name"], code=r["family"] == "searched"), text(r["family"]),
            num(r["params"], fmt_int(r["params"])), num(r["flops"], fmt_int(r["flops"])),
            num(r["latency_ms"], fmt_float(r["latency_ms"], 3)), num(r["val_acc"], fmt_acc(r["val_acc"])),
            num(r["final_val_acc"], fmt_acc(r["final_val_acc"])), num(r["test_acc"], fmt_acc(r["test_acc"])),
            num(training_seconds(r), training_cost(r)),
        ]))
    return rows


def documented_tables(docs: documented.Documented) -> str:
    headers = [("name", "name"), ("family", "family"), ("params", "params"), ("figure", "published figure"),
               ("source", "source")]
    parts = []
    for title, rows in docs.tables():
        cells = [("documented", [text(r.name), text("documented"), num(r.params, fmt_int(r.params)),
                                 text(r.figure), text(r.source)]) for r in rows.itertuples()]
        parts.append(f"<h3>{esc(title)}</h3>" + table(headers, cells, sortable=True))
    return "".join(parts)


def targets_section(data: StudyData) -> str:
    checks = check_targets(data)
    if not checks:
        return ""
    items = "".join(f'<li class="{"met" if c.met else "missed"}">{esc(describe(c))}</li>' for c in checks)
    return ("<h2>Targets</h2><p>Checked on final test accuracy; each network is chosen by validation "
            f"accuracy.</p><ul>{items}</ul>")


def failures_section(data: StudyData) -> str:
    counts = state_counts(data)
    rows = [("", [text(stage), text(state), num(n, str(n))]) for (stage, state), n in sorted(counts.items())]
    out = table([("stage", "stage"), ("state", "state"), ("trials", "trials")], rows) if rows else "<p>No trials.</p>"
    kinds = data.infeasible
    if kinds:
        krows = [("", [num(k.count, str(k.count)), text(f"trial {k.example_number}: {k.example_reason}")])
                 for k in kinds]
        out += (f"<p>Rejected before training as infeasible (not trained, not counted against a trial "
                f"budget): {sum(k.count for k in kinds)}.</p>"
                + table([("candidates", "candidates"), ("reason", "reason (first example)")], krows))
    bad = data.failures
    if bad.empty:
        return out + "<p>No trial failed.</p>"
    frows = [("", [num(r.number, str(r.number)), text(r.stage), text(r.state), text(r.failure_reason)])
             for r in bad.itertuples()]
    return out + table([("number", "trial"), ("stage", "stage"), ("state", "state"), ("reason", "reason")],
                       frows, sortable=True, table_id="failures")


def render_study(data: StudyData, board: pd.DataFrame, docs: documented.Documented, figures: list[Plot],
                 summary: list[str]) -> str:
    board_html = (table(BOARD_HEADERS, board_rows(board), sortable=True, table_id="leaderboard") if len(board)
                  else '<p id="leaderboard">No trial completed, so there is nothing to rank '
                       "(see the failures below).</p>")
    body = [
        f"<h1>Leaderboard: {esc(data.name)}</h1>",
        f"<p>Generated {esc(utc_now())} from the results database.</p>",
        '<div class="summary">' + "".join(f"<p>{esc(s)}</p>" for s in summary) + "</div>",
        targets_section(data),
        "<h2>Leaderboard (measured here)</h2>",
        "<p>Ranked by <b>validation</b> accuracy; test accuracy is measured only for final evaluations "
        "(the re-training of the top architectures, and zoo baselines). Click a header to sort.</p>",
        board_html,
        "<h2>Documented figures (published, not measured here)</h2>",
        documented_tables(docs),
        *(f"<h2>{esc(p.title)}</h2>{figure(p)}" for p in figures),
        "<h2>Protocol</h2>", kv_list(protocol(data)),
        "<h2>Provenance</h2>",
        kv_list(provenance_lines(data)) if data.provenance else "<p>No trial recorded its provenance.</p>",
        "<h2>Trials and failures</h2>", failures_section(data),
    ]
    return page(f"nasbench leaderboard: {data.name}", "\n".join(body))


COMPARE_HEADERS = [("study", "study"), ("sampler", "sampler"), ("trials", "trials"), ("complete", "complete"),
                   ("failed", "failed"), ("wall_time_s", "wall time"), ("best_val_acc", "best val acc"),
                   ("best_test_acc", "its test acc"), ("best_params", "its params"), ("best_name", "best architecture"),
                   ("search_fidelity", "search fidelity"), ("split", "split train/val/test")]


def render_comparison(datas: dict[str, StudyData], table_df: pd.DataFrame, figures: list[Plot]) -> str:
    ds = next(iter(datas.values())).dataset
    rows = [("", [text(r["study"]), text(r["sampler"]), num(r["trials"], str(r["trials"])),
                  num(r["complete"], str(r["complete"])), num(r["failed"], str(r["failed"])),
                  num(r["wall_time_s"], fmt_seconds(r["wall_time_s"])),
                  num(r["best_val_acc"], fmt_acc(r["best_val_acc"])),
                  num(r["best_test_acc"], fmt_acc(r["best_test_acc"])),
                  num(r["best_params"], fmt_int(r["best_params"])), text(r["best_name"], code=True),
                  text(r["search_fidelity"]), text(r["split"])]) for _, r in table_df.iterrows()]
    body = [
        f"<h1>Comparison: {esc(', '.join(datas))}</h1>",
        f"<p>Generated {esc(utc_now())} from the results database. All studies use data set "
        f"<b>{esc(ds['name'])}</b>; best = highest validation accuracy among searched architectures, test accuracy "
        "from its final re-training when there was one. Click a header to sort.</p>",
        table(COMPARE_HEADERS, rows, sortable=True, table_id="comparison"),
        *(f"<h2>{esc(p.title)}</h2>{figure(p)}" for p in figures),
    ]
    return page(f"nasbench comparison: {', '.join(datas)}", "\n".join(body))
