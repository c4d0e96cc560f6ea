"""The Markdown renderer: GitHub-flavoured Markdown, figures as PNG files in a folder beside the file.

Blocks are separated by one blank line. User text is made inert: HTML special characters become
entities, table pipes and backticks are escaped, newlines become spaces (a table row or a bullet
stays on one line).
"""

from __future__ import annotations

from pathlib import Path

from nasbench.report.render import document


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


def render(doc: document.Document, figure_folder: str = "figures") -> str:
    """The Markdown text of ``doc``; figures link to ``<figure_folder>/<key>.png`` (see ``write``)."""
    lines = [f"# {text(doc.heading)}"]
    for block in _blocks(doc.blocks, 2, figure_folder):
        lines += ["", *block]
    return "\n".join(lines) + "\n"


def write(doc: document.Document, path: Path, figure_folder: str | None = None) -> list[Path]:
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


def _blocks(blocks: tuple[document.Block, ...], level: int, folder: str) -> list[list[str]]:
    """Each block's lines (blocks with nothing to show left out)."""
    out = []
    for i, block in enumerate(blocks):
        lines = _block(block, level, folder)
        if not lines:
            continue
        # A subsection has no closing mark; one more blank line ends a run of them.
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if level > 2 and isinstance(block, document.Section) and not isinstance(after, document.Section):
            lines = [*lines, ""]
        out.append(lines)
    return out


def _block(block: document.Block, level: int, folder: str) -> list[str]:
    if isinstance(block, document.Paragraph):
        return [_inline(block.runs)]
    if isinstance(block, document.Summary):
        return [" ".join(text(s) for s in block.sentences)]
    if isinstance(block, document.Bullets):
        return [f"- {text(i.text if isinstance(i, document.Item) else i)}" for i in block.items]
    if isinstance(block, document.KeyValues):
        return [f"- **{text(k)}**: {text(v)}" for k, v in block.pairs]
    if isinstance(block, document.Table):
        return _table(block)
    if isinstance(block, document.Figure):
        caption = [text(block.caption), ""] if block.caption else []
        return [*caption, f"![{text(block.title)}]({folder}/{block.key}.png)"]
    if isinstance(block, document.Group):
        return _join(_blocks(block.blocks, level, folder))
    if isinstance(block, document.Section):
        # Level 2 is a heading; a subsection's title is a bold line.
        head = f"## {text(block.title)}" if level <= 2 else f"**{text(block.title)}**"
        return _join([[head], *_blocks(block.blocks, level + 1, folder)])
    if isinstance(block, document.Only):
        return _block(block.content, level, folder) if block.format == document.Format.MARKDOWN else []  # type: ignore[arg-type]
    raise TypeError(f"not a block: {block!r}")


def _join(parts: list[list[str]]) -> list[str]:
    """Blocks' lines with a blank line between blocks."""
    lines: list[str] = []
    for part in parts:
        lines += ([""] if lines else []) + part
    return lines


def _inline(runs: tuple[document.Inline, ...]) -> str:
    return "".join(_run(r) for r in runs)


def _run(run: document.Inline | document.Cell) -> str:
    if isinstance(run, str):
        return text(run)
    if isinstance(run, document.Strong):
        return f"**{text(run.text)}**"
    if isinstance(run, document.Code):
        return code(run.text)
    if isinstance(run, document.Number):
        return text(run.text)
    if isinstance(run, document.Only):
        return _run(run.content) if run.format == document.Format.MARKDOWN else ""  # type: ignore[arg-type]
    raise TypeError(f"not inline content: {run!r}")


def _table(table: document.Table) -> list[str]:
    head = "| " + " | ".join(text(c.label) for c in table.columns) + " |"
    align = "|" + "".join("---:|" if c.right else "---|" for c in table.columns)
    return [head, align, *("| " + " | ".join(_run(c) for c in row.cells) + " |" for row in table.rows)]
