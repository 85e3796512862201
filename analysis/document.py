"""A small document model rendered to self-contained HTML and to Markdown.

The report is built once as blocks (paragraphs, tables, figures, code...) and rendered
twice, so the HTML and the Markdown cannot drift apart. The HTML embeds every figure
as a ``data:`` URI and carries its own CSS, with no scripts and no external
references: the single file can be mailed, attached to a CI job or opened offline.
The Markdown references the PNG files next to it (``figures/*.png``), as a repository
browser displays them.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

from analysis.figures import FigureFile


@dataclass
class Paragraph:
    text: str
    kind: str = ""  # "", "note" or "warning": rendered as a callout


@dataclass
class Bullets:
    items: List[str]


@dataclass
class Table:
    columns: List[str]
    rows: List[List[str]]
    caption: str = ""
    row_kinds: Optional[List[str]] = None  # per row: "", "warning" or "error"
    numeric: Sequence[int] = ()  # column indices to right-align


@dataclass
class KeyValues:
    pairs: List[Tuple[str, str]]


@dataclass
class Code:
    text: str
    caption: str = ""


@dataclass
class Image:
    figure: FigureFile


@dataclass
class Details:
    summary: str
    blocks: List["Block"]


Block = Union[Paragraph, Bullets, Table, KeyValues, Code, Image, Details, "Section"]


@dataclass
class Section:
    title: str
    anchor: str
    blocks: List[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: str
    sections: List[Section]


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:0 auto;max-width:1200px;padding:1.5rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
h3{margin-top:1.6rem}.subtitle{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.86rem}
th,td{border:1px solid #d0d0d0;padding:.2rem .45rem;vertical-align:top}
th{background:#f2f2f2;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.warning td{background:#fff6d6}tr.error td{background:#fde2e2}
caption{caption-side:bottom;text-align:left;color:#555;font-size:.8rem;padding-top:.3rem}
pre{background:#f6f6f6;border:1px solid #ddd;padding:.6rem;overflow-x:auto;font-size:.82rem}
figure{margin:1.2rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.85rem;max-width:60rem}
.note{background:#eef5ff;border-left:4px solid #4a7fd0;padding:.4rem .7rem}
.warning{background:#fff6d6;border-left:4px solid #d0a000;padding:.4rem .7rem}
nav ol{columns:2;font-size:.9rem}details{margin:.6rem 0}summary{cursor:pointer}
.scroll{overflow-x:auto;max-width:100%}
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _html_block(block: Block, level: int) -> str:
    if isinstance(block, Section):
        inner = "\n".join(_html_block(b, level + 1) for b in block.blocks)
        return f'<h{level} id="{_e(block.anchor)}">{_e(block.title)}</h{level}>\n{inner}'
    if isinstance(block, Paragraph):
        cls = f' class="{block.kind}"' if block.kind else ""
        return f"<p{cls}>{_e(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, KeyValues):
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in block.pairs)
        return f"<table>{rows}</table>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_e(c)}</th>" for c in block.columns)
        body = []
        for i, row in enumerate(block.rows):
            kind = block.row_kinds[i] if block.row_kinds else ""
            cells = "".join(f'<td class="num">{_e(c)}</td>' if j in block.numeric
                            else f"<td>{_e(c)}</td>" for j, c in enumerate(row))
            body.append(f'<tr class="{kind}">{cells}</tr>' if kind else f"<tr>{cells}</tr>")
        caption = f"<caption>{_e(block.caption)}</caption>" if block.caption else ""
        return (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table></div>")
    if isinstance(block, Code):
        caption = f"<p>{_e(block.caption)}</p>" if block.caption else ""
        return f"{caption}<pre><code>{_e(block.text)}</code></pre>"
    if isinstance(block, Image):
        f = block.figure
        data = base64.b64encode(f.png_bytes).decode("ascii")
        return (f'<figure id="fig-{_e(f.name)}"><img src="data:image/png;base64,{data}" '
                f'alt="{_e(f.title)}"><figcaption><b>{_e(f.title)}.</b> {_e(f.caption)} '
                f'Files: <a href="{_e(f.png)}">PNG</a>, <a href="{_e(f.svg)}">SVG</a>.'
                f"</figcaption></figure>")
    if isinstance(block, Details):
        inner = "\n".join(_html_block(b, level) for b in block.blocks)
        return f"<details><summary>{_e(block.summary)}</summary>\n{inner}\n</details>"
    raise TypeError(f"unknown block {type(block).__name__}")


def render_html(doc: Document) -> str:
    toc = "".join(f'<li><a href="#{_e(s.anchor)}">{_e(s.title)}</a></li>' for s in doc.sections)
    body = "\n".join(_html_block(s, 2) for s in doc.sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No scripts, no external fetches; the report is a document, not an app.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">\n"
        f"<title>{_e(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(doc.title)}</h1>\n<p class=\"subtitle\">{_e(doc.subtitle)}</p>\n"
        f"<nav><ol>{toc}</ol></nav>\n{body}\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_text(text: str) -> str:
    # Escape what would otherwise turn prose into markup (option names have _ and *).
    out = str(text)
    for ch in ("\\", "*", "_", "`", "<", ">", "[", "]"):
        out = out.replace(ch, "\\" + ch)
    return out


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _md_block(block: Block, level: int) -> str:
    if isinstance(block, Section):
        inner = "\n\n".join(_md_block(b, level + 1) for b in block.blocks)
        return f'{"#" * level} {block.title}\n\n{inner}'
    if isinstance(block, Paragraph):
        prefix = {"note": "> **Note:** ", "warning": "> **Warning:** "}.get(block.kind, "")
        return prefix + _md_text(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_text(i)}" for i in block.items)
    if isinstance(block, KeyValues):
        return "\n".join(["| | |", "|---|---|"] +
                         [f"| **{_md_cell(k)}** | {_md_cell(v)} |" for k, v in block.pairs])
    if isinstance(block, Table):
        align = ["---:" if j in block.numeric else "---" for j in range(len(block.columns))]
        lines = ["| " + " | ".join(_md_cell(c) for c in block.columns) + " |",
                 "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        if block.caption:
            lines += ["", "*" + _md_text(block.caption) + "*"]
        return "\n".join(lines)
    if isinstance(block, Code):
        caption = _md_text(block.caption) + "\n\n" if block.caption else ""
        return caption + _fence(block.text)
    if isinstance(block, Image):
        f = block.figure
        return (f"![{_md_cell(f.title)}]({f.png})\n\n*{_md_text(f.title)}.* {_md_text(f.caption)} "
                f"([SVG]({f.svg}))")
    if isinstance(block, Details):
        inner = "\n\n".join(_md_block(b, level) for b in block.blocks)
        return f"<details><summary>{html.escape(block.summary)}</summary>\n\n{inner}\n\n</details>"
    raise TypeError(f"unknown block {type(block).__name__}")


def render_markdown_section(section: Section, level: int = 2) -> str:
    """One section as Markdown, for pages written outside a report (a README)."""
    return _md_block(section, level)


def render_markdown(doc: Document) -> str:
    toc = "\n".join(f"{i}. [{s.title}](#{s.anchor})" for i, s in enumerate(doc.sections, 1))
    body = "\n\n".join(_md_block(s, 2) for s in doc.sections)
    return f"# {doc.title}\n\n{_md_text(doc.subtitle)}\n\n{toc}\n\n{body}\n"
