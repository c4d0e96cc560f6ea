"""Reads the tables of an HTML page (stdlib parser): what a reader of the report sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Row:
    css: str
    cells: list[str] = field(default_factory=list)


@dataclass
class Table:
    id: str
    css: str
    headers: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def column(self, header: str) -> list[str]:
        i = self.headers.index(header)
        return [r.cells[i] for r in self.rows]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self.cell: list[str] | None = None
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.tables.append(Table(a.get("id", ""), a.get("class", "")))
        elif tag == "thead":
            self.in_head = True
        elif tag == "tbody":
            self.in_head = False
        elif tag == "tr" and not self.in_head:
            self.tables[-1].rows.append(Row(a.get("class", "")))
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            if tag == "th":
                self.tables[-1].headers.append(text)
            else:
                self.tables[-1].rows[-1].cells.append(text)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(html: str) -> list[Table]:
    p = _Parser()
    p.feed(html)
    return p.tables


def table_by_id(html: str, table_id: str) -> Table:
    found = [t for t in tables(html) if t.id == table_id]
    assert len(found) == 1, f"expected one table#{table_id}, found {len(found)}"
    return found[0]
