"""One rendering layer for every report: build a ``Document``, write it with ``markdown`` and ``html``.

from nasbench.report import render
doc = render.Document("Leaderboard: s", (render.Section("Protocol", (render.KeyValues(...),)),))
render.markdown.write(doc, out / "s.md")   # + s_plots/<key>.png for its figures
render.html.write(doc, out / "s.html")     # one self-contained file
"""

from collections.abc import Collection
from pathlib import Path

from nasbench.report.render import html, markdown
from nasbench.report.render.document import (
    Block,
    Bullets,
    Cell,
    Code,
    Column,
    Document,
    Figure,
    Format,
    Group,
    Inline,
    Item,
    KeyValues,
    Number,
    Only,
    Paragraph,
    Row,
    Section,
    Strong,
    Summary,
    Table,
    number,
    plain,
)

__all__ = [
    "Block",
    "Bullets",
    "Cell",
    "Code",
    "Column",
    "Document",
    "Figure",
    "Format",
    "Group",
    "Inline",
    "Item",
    "KeyValues",
    "Number",
    "Only",
    "Paragraph",
    "Row",
    "Section",
    "Strong",
    "Summary",
    "Table",
    "html",
    "markdown",
    "number",
    "plain",
    "write",
]


def write(doc: Document, folder: Path, stem: str, formats: Collection[str]) -> list[Path]:
    """Write ``doc`` into ``folder`` as ``<stem>.md`` (figures in ``<stem>_plots/``) and/or ``<stem>.html``.

    Returns the report files written (Markdown first), not the figures.
    """
    paths = []
    if Format.MARKDOWN in formats:
        paths.append(markdown.write(doc, folder / f"{stem}.{Format.MARKDOWN}")[-1])
    if Format.HTML in formats:
        paths.append(html.write(doc, folder / f"{stem}.{Format.HTML}"))
    return paths
