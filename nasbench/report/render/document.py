"""The document model every report is built as: frozen blocks the Markdown and HTML renderers walk.

A report builder says *what* a report contains (sections, paragraphs, tables of typed cells,
figures); the renderers in this package decide how each format writes it. Every string in a
document is plain text: the renderers escape it, so user data (study names, failure reasons,
architecture summaries) never needs escaping by the builder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from nasbench.report.format import missing


class Format(StrEnum):
    """The output formats; the value is the file suffix and the ``--format`` choice."""

    MARKDOWN = "md"
    HTML = "html"


# --- inline content (inside paragraphs and table cells) -----------------------------------------


@dataclass(frozen=True)
class Strong:
    """Emphasised text: ``**text**`` in Markdown, ``<b>`` in HTML."""

    text: str


@dataclass(frozen=True)
class Code:
    """Code-like text (an architecture summary): a code span; empty text writes nothing in Markdown."""

    text: str


@dataclass(frozen=True)
class Number:
    """A table cell holding a number: ``text`` is shown, ``sort`` orders a sortable table (None: blank, last)."""

    text: str
    sort: float | None


def plain(value: object) -> str:
    """A value as document text; a missing one (None, NaN) as nothing."""
    return "" if missing(value) else str(value)


def number(value: object, text: str) -> Number:
    """A number cell showing ``text``, sorted by ``value`` (missing values sort last)."""
    return Number(text, None if missing(value) else float(value))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Only:
    """Content one format shows and the other leaves out, like Sphinx's ``only`` directive.

    For what only makes sense in one format ("Click a header to sort." on the HTML page) and for
    the few places where the two formats of a report have always differed (a count that Markdown
    writes as a sentence and HTML as a table). Usable inline and as a block.
    """

    format: Format
    content: Inline | Block


Inline = str | Strong | Code | Only
Cell = str | Code | Number


# --- blocks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """Text in runs: ``Paragraph("plain")`` or ``Paragraph(("Ranked by ", Strong("validation"), "..."))``."""

    content: str | tuple[Inline, ...]
    id: str = ""  # an HTML anchor

    @property
    def runs(self) -> tuple[Inline, ...]:
        return (self.content,) if isinstance(self.content, str) else self.content


@dataclass(frozen=True)
class Summary:
    """A highlighted box of sentences (HTML: one paragraph each; Markdown: one paragraph of them all)."""

    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    """A bullet; ``css`` marks it in HTML (``missed`` shows a target that was not met)."""

    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[Item | str, ...]


@dataclass(frozen=True)
class KeyValues:
    """Labelled values (a protocol, provenance): a definition list in HTML, bold-label bullets in Markdown."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Column:
    """A table column: its label, its key (the HTML sort anchor ``#sort=key``), its Markdown alignment."""

    label: str
    key: str = ""  # defaults to the label
    right: bool = False  # right-aligned in Markdown; HTML right-aligns every Number cell

    @property
    def anchor(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    css: str = ""  # an HTML class marking the row (e.g. ``baseline``)


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    sortable: bool = False  # HTML: click a header to sort, or open the page at ``#sort=key``
    id: str = ""  # an HTML anchor

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(f"a row of {len(row.cells)} cells in a table of {len(self.columns)} columns")


@dataclass(frozen=True)
class Figure:
    """A PNG image: embedded (base64) in HTML; in Markdown written as ``<figure folder>/<key>.png`` and linked."""

    key: str  # file-name-safe, unique in its document
    title: str  # the image's alternative text
    caption: str
    png: bytes = field(repr=False)


@dataclass(frozen=True)
class Group:
    """Blocks kept together without a heading: HTML writes them on one source line.

    Line breaks in the HTML source have no visible effect; ``Group`` and ``Section.inline`` exist
    so a report's HTML source stays the same from release to release (reports are compared by diff).
    An empty group is an empty source line in HTML and nothing in Markdown.
    """

    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Section:
    """A titled part of a document (``##``/``<h2>``); a section inside a section is a subsection (``<h3>``)."""

    title: str
    blocks: tuple[Block, ...]
    inline: bool = False  # HTML source: heading and blocks on one line (see Group)


Block = Paragraph | Summary | Bullets | KeyValues | Table | Figure | Group | Section | Only


@dataclass(frozen=True)
class Document:
    """A whole report: ``heading`` is its first-level heading, ``title`` the HTML page's title."""

    heading: str
    blocks: tuple[Block, ...]
    title: str = ""  # defaults to the heading

    def __post_init__(self) -> None:
        keys = [f.key for f in self.figures()]
        if len(set(keys)) < len(keys):
            raise ValueError(f"figure keys must be unique in a document (each names a file): {keys}")

    @property
    def page_title(self) -> str:
        return self.title or self.heading

    def figures(self) -> list[Figure]:
        """Every figure, in document order (including those only one format shows)."""
        return list(_figures(self.blocks))


def _figures(blocks: tuple[Block, ...]) -> Iterator[Figure]:
    for block in blocks:
        if isinstance(block, Figure):
            yield block
        elif isinstance(block, (Group, Section)):
            yield from _figures(block.blocks)
        elif isinstance(block, Only):
            yield from _figures((block.content,))  # type: ignore[arg-type]
