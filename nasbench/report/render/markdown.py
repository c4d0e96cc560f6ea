"""The Markdown renderer: GitHub-flavoured Markdown, figures as PNG files in a folder beside the file.

Blocks are separated by one blank line. User text is made inert: HTML special characters become
entities, table pipes and backticks are escaped, newlines become spaces (a table row or a bullet
stays on one line).
"""

from __future__ import annotations

from pathlib import Path

from nasbench.report.render.document import (
    Block,
    Bullets,
    Cell,
    Code,
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
    Section,
    Strong,
    Summary,
    Table,
)


def text(value: str) -> str:
    """User text made inert in Markdown (also inside a table cell)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("`", "\\`")
        .replace("\n", " ")
    )


def code(value: str) -> str:
    """User text as a code span: backticks become quotes (a span cannot hold its own delimiter)."""
    return "`" + value.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`" if value else ""


def render(doc: Document, figure_folder: str = "figures") -> str:
    """The Markdown text of ``doc``; figures link to ``<figure_folder>/<key>.png`` (see ``write``)."""
    lines = [f"# {text(doc.heading)}"]
    for block in _blocks(doc.blocks, 2, figure_folder):
        lines += ["", *block]
    return "\n".join(lines) + "\n"


def write(doc: Document, path: Path, figure_folder: str | None = None) -> list[Path]:
    """Write ``doc`` to ``path`` and its figures to ``<figure_folder>/<key>.png`` beside it.

    ``figure_folder`` defaults to ``<file stem>_plots``. Returns the files written, the Markdown last.
    """
    folder = figure_folder or f"{path.stem}_plots"
    written = []
    for fig in doc.figures():
        png = path.parent / folder / f"{fig.key}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(fig.png)
        written.append(png)
    path.write_text(render(doc, folder), encoding="utf-8")
    return [*written, path]


def _blocks(blocks: tuple[Block, ...], level: int, folder: str) -> list[list[str]]:
    """Each block's lines (blocks with nothing to show left out)."""
    out = []
    for i, block in enumerate(blocks):
        lines = _block(block, level, folder)
        if not lines:
            continue
        # A subsection has no closing mark; one more blank line ends a run of them.
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if level > 2 and isinstance(block, Section) and not isinstance(after, Section):
            lines = [*lines, ""]
        out.append(lines)
    return out


def _block(block: Block, level: int, folder: str) -> list[str]:
    if isinstance(block, Paragraph):
        return [_inline(block.runs)]
    if isinstance(block, Summary):
        return [" ".join(text(s) for s in block.sentences)]
    if isinstance(block, Bullets):
        return [f"- {text(i.text if isinstance(i, Item) else i)}" for i in block.items]
    if isinstance(block, KeyValues):
        return [f"- **{text(k)}**: {text(v)}" for k, v in block.pairs]
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        caption = [text(block.caption), ""] if block.caption else []
        return [*caption, f"![{text(block.title)}]({folder}/{block.key}.png)"]
    if isinstance(block, Group):
        return _join(_blocks(block.blocks, level, folder))
    if isinstance(block, Section):
        # Level 2 is a heading; a subsection's title is a bold line.
        head = f"## {text(block.title)}" if level <= 2 else f"**{text(block.title)}**"
        return _join([[head], *_blocks(block.blocks, level + 1, folder)])
    if isinstance(block, Only):
        return _block(block.content, level, folder) if block.format == Format.MARKDOWN else []  # type: ignore[arg-type]
    raise TypeError(f"not a block: {block!r}")


def _join(parts: list[list[str]]) -> list[str]:
    """Blocks' lines with a blank line between blocks."""
    lines: list[str] = []
    for part in parts:
        lines += ([""] if lines else []) + part
    return lines


def _inline(runs: tuple[Inline, ...]) -> str:
    return "".join(_run(r) for r in runs)


def _run(run: Inline | Cell) -> str:
    if isinstance(run, str):
        return text(run)
    if isinstance(run, Strong):
        return f"**{text(run.text)}**"
    if isinstance(run, Code):
        return code(run.text)
    if isinstance(run, Number):
        return text(run.text)
    if isinstance(run, Only):
        return _run(run.content) if run.format == Format.MARKDOWN else ""  # type: ignore[arg-type]
    raise TypeError(f"not inline content: {run!r}")


def _table(table: Table) -> list[str]:
    head = "| " + " | ".join(text(c.label) for c in table.columns) + " |"
    align = "|" + "".join("---:|" if c.right else "---|" for c in table.columns)
    return [head, align, *("| " + " | ".join(_run(c) for c in row.cells) + " |" for row in table.rows)]
