"""The document model and its two renderers: escaping, tables, figures, format-only content, layout."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from nasbench.report import render
from nasbench.report.render import (
    Bullets,
    Code,
    Column,
    Document,
    Figure,
    Format,
    Group,
    Item,
    KeyValues,
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
from tests.report.html_tables import table_by_id

PNG = b"\x89PNG\r\n\x1a\nnot really an image"
EVIL = "a|b <i>x</i> `tick` & \"q\"\nsecond line"


def evil_document() -> Document:
    """The same user string in every place a document can hold text."""
    table = Table((Column(EVIL, "k"), Column("n", right=True), Column("code")),
                  (Row((EVIL, number(1.5, EVIL), Code(EVIL)), css=EVIL),), sortable=True, id=EVIL)
    return Document(EVIL, (
        Paragraph((EVIL, Strong(EVIL), Code(EVIL)), id=EVIL),
        Summary((EVIL, EVIL)),
        Bullets((EVIL, Item(EVIL, EVIL))),
        KeyValues(((EVIL, EVIL),)),
        Section(EVIL, (table, Section(EVIL, (Paragraph(EVIL),)))),
        Figure("fig", EVIL, EVIL, PNG),
    ), title=EVIL)


def test_html_escapes_every_user_string():
    page = render.html.render(evil_document())
    assert "<i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page
    assert '"q"' not in page and "&quot;q&quot;" in page  # safe inside attributes too
    assert page.count("<script") == 1  # the page's own sorter
    assert "&amp;" in page and " & " not in page


def test_markdown_escapes_pipes_markup_backticks_and_newlines():
    md = render.markdown.render(evil_document())
    # Plain text: markup as entities, pipes and backticks escaped, the newline a space.
    assert "a\\|b &lt;i&gt;x&lt;/i&gt; \\`tick\\` &amp; \"q\" second line" in md
    # A code span shows its content literally: only its delimiter (backtick) and table pipes change.
    assert "`a\\|b <i>x</i> 'tick' & \"q\" second line`" in md
    assert "<i>" not in md.replace("`a\\|b <i>x</i>", "")  # markup appears nowhere else
    assert "\nsecond line" not in md  # a newline never breaks a row, a bullet or a heading
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 3 and all(len(re.findall(r"(?<!\\)\|", r)) == 4 for r in rows)


def test_markdown_table_aligns_columns_and_keeps_cells_in_order():
    table = Table((Column("name"), Column("score", right=True)),
                  (Row(("b", number(0.5, "50%"))), Row(("a", number(None, "")))))
    md = render.markdown.render(Document("T", (table,)))
    assert md == "# T\n\n| name | score |\n|---|---:|\n| b | 50% |\n| a |  |\n"


def test_html_table_is_sortable_by_number_values_with_blanks_marked():
    table = Table((Column("name"), Column("params", "p")), (
        Row(("x", number(1234, "1,234")), css="baseline"), Row((Code("y"), number(float("nan"), "")))),
        sortable=True, id="board")
    page = render.html.render(Document("T", (table,)))
    assert '<table id="board" class="sortable">' in page
    assert '<th data-key="p">params</th>' in page
    assert '<tr class="baseline"><td>x</td><td class="num" data-v="1234.0">1,234</td></tr>' in page
    assert '<tr><td><code>y</code></td><td class="num" data-v=""></td></tr>' in page
    parsed = table_by_id(page, "board")
    assert parsed.headers == ["name", "params"] and parsed.column("params") == ["1,234", ""]


def test_a_table_needs_a_cell_per_column():
    with pytest.raises(ValueError, match="a row of 1 cells in a table of 2 columns"):
        Table((Column("a"), Column("b")), (Row(("x",)),))


def test_figures_are_embedded_in_html_and_written_beside_markdown(tmp_path: Path):
    doc = Document("Plots", (Section("One", (Figure("one", "First plot", "What it shows.", PNG),)),
                             Figure("two", "Second", "", PNG + b"2")))
    page = render.html.render(doc)
    sources = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    assert [(alt, base64.b64decode(data)) for alt, data in sources] == [("First plot", PNG), ("Second", PNG + b"2")]
    assert '<figure id="plot-one">' in page and "<figcaption>What it shows.</figcaption>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)

    written = render.markdown.write(doc, tmp_path / "plots.md")
    folder = tmp_path / "plots_plots"
    assert written == [folder / "one.png", folder / "two.png", tmp_path / "plots.md"]
    md = written[-1].read_text()
    assert "What it shows.\n\n![First plot](plots_plots/one.png)" in md
    assert "![Second](plots_plots/two.png)" in md
    for link in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (tmp_path / link).read_bytes().startswith(PNG)


def test_figure_keys_are_unique_because_each_names_a_file():
    with pytest.raises(ValueError, match="unique"):
        Document("T", (Figure("k", "a", "", PNG), Section("S", (Figure("k", "b", "", PNG),))))


def test_markdown_writes_no_figure_folder_without_figures(tmp_path: Path):
    render.markdown.write(Document("T", (Paragraph("no plots"),)), tmp_path / "t.md")
    assert [p.name for p in tmp_path.iterdir()] == ["t.md"]


def test_only_shows_content_in_its_own_format():
    doc = Document("T", (
        Paragraph(("data set ", Only(Format.MARKDOWN, "plain"), Only(Format.HTML, Strong("bold")),
                   Only(Format.HTML, " Click a header to sort."))),
        Only(Format.MARKDOWN, Paragraph("Trials: 3.")),
        Only(Format.HTML, Table((Column("trials"),), (Row(("3",)),))),
    ))
    md, page = render.markdown.render(doc), render.html.render(doc)
    assert md == "# T\n\ndata set plain\n\nTrials: 3.\n"
    assert "<p>data set <b>bold</b> Click a header to sort.</p>" in page
    assert "Trials: 3." not in page and "<table>" in page and "plain" not in page


def test_sections_nest_and_html_layout_follows_groups_and_inline_sections():
    doc = Document("T", (
        Section("Lines", (Paragraph("a"), Paragraph("b"))),
        Section("Packed", (Group((Section("Sub 1", (Paragraph("c"),), inline=True),
                                  Section("Sub 2", (Paragraph("d"),), inline=True))),)),
        Group(),
        Section("Inline", (Paragraph("e"),), inline=True),
    ))
    page = render.html.render(doc)
    body = page[page.index("<h1>"):page.index("<script>")]
    assert body == ("<h1>T</h1>\n<h2>Lines</h2>\n<p>a</p>\n<p>b</p>\n"
                    "<h2>Packed</h2>\n<h3>Sub 1</h3><p>c</p><h3>Sub 2</h3><p>d</p>\n"
                    "\n<h2>Inline</h2><p>e</p>\n")
    md = render.markdown.render(doc)
    # Subsections are bold lines; a run of them ends with one more blank line; an empty group is nothing.
    assert md == ("# T\n\n## Lines\n\na\n\nb\n\n## Packed\n\n**Sub 1**\n\nc\n\n**Sub 2**\n\nd\n\n\n"
                  "## Inline\n\ne\n")


def test_summary_key_values_and_bullets_in_both_formats():
    doc = Document("T", (Summary(("One.", "Two.")), KeyValues((("seed", "0"),)),
                         Bullets(("met", Item("missed", "missed")))), title="page")
    md, page = render.markdown.render(doc), render.html.render(doc)
    assert md == "# T\n\nOne. Two.\n\n- **seed**: 0\n\n- met\n- missed\n"
    assert '<div class="summary"><p>One.</p><p>Two.</p></div>' in page
    assert '<dl class="kv"><dt>seed</dt><dd>0</dd></dl>' in page
    assert '<ul><li>met</li><li class="missed">missed</li></ul>' in page
    assert "<title>page</title>" in page and "<h1>T</h1>" in page


def test_write_picks_formats_and_returns_the_report_files(tmp_path: Path):
    doc = Document("T", (Figure("f", "F", "", PNG),))
    assert render.write(doc, tmp_path, "r", ["html"]) == [tmp_path / "r.html"]
    assert not (tmp_path / "r_plots").exists()
    assert render.write(doc, tmp_path, "r", ["html", "md"]) == [tmp_path / "r.md", tmp_path / "r.html"]
    assert (tmp_path / "r_plots" / "f.png").read_bytes() == PNG


def test_plain_and_number_treat_missing_values_alike():
    assert plain(None) == "" and plain(float("nan")) == "" and plain(3) == "3"
    assert number(float("nan"), "").sort is None and number(2, "2").sort == 2.0
