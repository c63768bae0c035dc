"""One self-contained HTML page for an initbench experiment folder: DIR -> DIR/report.html.

Usage: /usr/bin/python3 scripts/report.py DIR [-o FILE] [--force]     (or --help)
       /usr/bin/python3 -m initbench.report DIR [-o FILE] [--force]  (python/ on PYTHONPATH)

The command `initbench report` calls (src/main.cpp). The page, in order:

  title        README.md's first heading, else the experiment's name (spec.toml)
  README.md    the claim, the published numbers, ours and the verdict, from a small Markdown
               subset: headings, paragraphs, lists, tables, fenced code, `code`, **bold**,
               *emphasis*; a link shows its text (the target as a tooltip), an image inside the
               folder is embedded, any other its alt text; HTML in the text shows as text
  diagnostics  how many runs ended with each status (runs.csv), the runs that diverged or
               stalled with their settings, each run's verdicts (runs.csv's verdict columns,
               docs/diagnosis.md) and what the folder lacks (README.md, figures)
  summary      summary.csv, one row per setting: the grid axes, runs, status counts and each
               metric's mean +- std over seeds (its min..max as a tooltip)
  figures      every PNG in DIR/plots/, embedded as a base64 data: URI (initbench.plot's order,
               then any other by name); a file there that is not a PNG is left out and named in
               the diagnostics
  spec         spec.toml, the spec as run
  provenance   meta.json (version, commit, compiler, date), when the folder has it

The page loads nothing: no stylesheet, script, font, image or link outside the file, so it opens
offline anywhere. The same folder gives the same bytes (no clock reading of its own).

Output: FILE, default DIR/report.html. It is written whole: a temporary FILE.tmp.<pid> beside it,
flushed, then renamed over FILE; an error leaves no partial file and FILE as it was. An existing
FILE is replaced only when it is a report this command wrote (its generator tag says so): any
other file is refused unless --force. Nothing else in DIR is written, and results/*/report.html
is ignored by git, so a report of a committed results folder leaves `git status` clean.

Required: runs.csv, summary.csv, spec.toml. Optional: README.md, plots/, meta.json. A missing
required file or a malformed CSV file (initbench.tables) stops with one line naming it, before
anything is written.

Exit status: 0 written; 1 bad or missing data, or FILE cannot be written or is refused; 2 usage;
3 pandas missing. Needs Debian's python3-pandas (run with /usr/bin/python3).
"""

import argparse
import base64
import html
import json
import math
import os
import re
import struct
import sys

from . import DIAGNOSIS_COLUMNS, RUN_COLUMNS, axis_columns, is_old_layout
from .tables import DataError, one_line_errors

USAGE = ("Usage: /usr/bin/python3 scripts/report.py DIR [-o FILE] [--force]     (or --help)\n"
         "       /usr/bin/python3 -m initbench.report DIR [-o FILE] [--force]  (python/ on "
         "PYTHONPATH)")
DEFAULT_NAME = "report.html"
GENERATOR = '<meta name="generator" content="initbench report">'
STATUSES = ["converged", "not_converged", "diverged", "stalled"]
METRICS = ["final_train_loss", "final_train_acc", "final_test_loss", "final_test_acc",
           "final_val_loss", "final_val_acc",
           "steps_to_target", "init_grad_ratio"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_LISTED_RUNS = 100  # diverged or stalled runs listed by name; the rest are counted

STYLE = """\
body { font-family: sans-serif; line-height: 1.45; color: #1b1b1b; background: #fff;
       max-width: 1180px; margin: 0 auto; padding: 1em 1.5em 3em; }
nav { font-size: 0.95em; margin-bottom: 1.5em; }
nav a { margin-right: 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.15em; margin-top: 2em; }
.folder { color: #555; margin-top: 0; }
code, pre { font-family: monospace; font-size: 0.92em; }
code { background: #f3f3f3; padding: 0 0.2em; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.7em; overflow-x: auto; }
pre code { background: none; padding: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #d4d4d4; padding: 0.25em 0.55em; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { font-family: monospace; color: #555; }
.ref { border-bottom: 1px dotted #888; }
.ok { color: #1a6b1a; }
.warn { color: #a33; font-weight: bold; }
"""


def esc(text):
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------------------------------------
# A small Markdown subset (README.md)
# ---------------------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
_EM = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", re.S)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)\s*([\w+-]*)")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


class Markdown:
    """Renders the Markdown subset of the results READMEs as HTML. Images whose target is a
    PNG file inside `folder` are embedded; headings are shifted down by `shift` levels."""

    def __init__(self, folder, shift=1):
        self.folder = os.path.realpath(folder)
        self.shift = shift

    # inline ------------------------------------------------------------------------------

    def inline(self, text):
        out, pos = [], 0
        for m in _CODE_SPAN.finditer(text):
            out.append(self._inline_text(text[pos:m.start()]))
            out.append(f"<code>{esc(m.group(2).strip())}</code>")
            pos = m.end()
        out.append(self._inline_text(text[pos:]))
        return "".join(out)

    def _inline_text(self, text):
        # Escaped characters are set aside first, so that \* stays a star.
        kept = []

        def keep(m):
            kept.append(m.group(1))
            return f"\x00{len(kept) - 1}\x00"

        text = _ESCAPED.sub(keep, text)
        images = []

        def image(m):
            images.append(self._image(m.group(1), m.group(2)))
            return f"\x01{len(images) - 1}\x01"

        text = _IMAGE.sub(image, text)
        text = esc(text)
        text = _LINK.sub(lambda m: f'<span class="ref" title="{m.group(2)}">{m.group(1)}</span>',
                         text)
        text = _STRONG.sub(r"<strong>\1</strong>", text)
        text = _EM.sub(r"<em>\1</em>", text)
        text = re.sub("\x01(\\d+)\x01", lambda m: images[int(m.group(1))], text)
        return re.sub("\x00(\\d+)\x00", lambda m: esc(kept[int(m.group(1))]), text)

    def _image(self, alt, target):
        path = os.path.realpath(os.path.join(self.folder, target))
        inside = path.startswith(self.folder + os.sep)
        data = read_png(path) if inside and os.path.isfile(path) else None
        if data is None:
            return f'<span class="ref" title="{esc(target)}">[{esc(alt)}]</span>'
        return img_tag(data, alt)

    # blocks ------------------------------------------------------------------------------

    def render(self, text):
        text = re.sub(r"<!--.*?-->", "", text.replace("\r\n", "\n"), flags=re.S)
        return self.blocks(text.split("\n"))

    def blocks(self, lines):
        out, i = [], 0
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                i += 1
            elif _FENCE.match(line):
                i = self._fence(lines, i, out)
            elif _HEADING.match(line):
                m = _HEADING.match(line)
                level = min(6, len(m.group(1)) + self.shift)
                out.append(f"<h{level}>{self.inline(m.group(2))}</h{level}>")
                i += 1
            elif _RULE.match(line):
                out.append("<hr>")
                i += 1
            elif (line.lstrip().startswith("|") and i + 1 < len(lines)
                  and _TABLE_SEP.match(lines[i + 1]) and "-" in lines[i + 1]):
                i = self._table(lines, i, out)
            elif _ITEM.match(line):
                i = self._list(lines, i, out)
            elif line.startswith(">"):
                j = i
                while j < len(lines) and lines[j].startswith(">"):
                    j += 1
                quoted = [re.sub(r"^> ?", "", l) for l in lines[i:j]]
                out.append(f"<blockquote>{self.blocks(quoted)}</blockquote>")
                i = j
            else:
                j = i
                while j < len(lines) and lines[j].strip() and not self._starts_block(lines, j):
                    j += 1
                j = max(j, i + 1)
                paragraph = "\n".join(l.strip() for l in lines[i:j])
                out.append(f"<p>{self.inline(paragraph)}</p>")
                i = j
        return "\n".join(out)

    def _starts_block(self, lines, j):
        """Whether line j ends the paragraph before it. A numbered item does only when it is
        numbered 1, as in CommonMark: a wrapped line may begin with "85) trains"."""
        line = lines[j]
        item = _ITEM.match(line)
        return bool(_FENCE.match(line) or _HEADING.match(line) or line.startswith(">")
                    or (item and item.group(2)[:-1] in ("", "1")) or _RULE.match(line)
                    or (line.lstrip().startswith("|") and j + 1 < len(lines)
                        and _TABLE_SEP.match(lines[j + 1])))

    def _fence(self, lines, i, out):
        m = _FENCE.match(lines[i])
        fence = m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = "\n".join(lines[i + 1:j])
        lang = f' class="language-{esc(m.group(2))}"' if m.group(2) else ""
        out.append(f"<pre><code{lang}>{esc(body)}</code></pre>")
        return j + 1

    @staticmethod
    def _cells(line):
        line = line.strip()
        if line.startswith("|"):
            line = line[1:]
        if line.endswith("|") and not line.endswith("\\|"):
            line = line[:-1]
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]

    def _table(self, lines, i, out):
        header = self._cells(lines[i])
        aligns = []
        for spec in self._cells(lines[i + 1]):
            if spec.startswith(":") and spec.endswith(":"):
                aligns.append(' style="text-align: center"')
            elif spec.endswith(":"):
                aligns.append(' style="text-align: right"')
            else:
                aligns.append("")
        j = i + 2
        rows = []
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            rows.append(self._cells(lines[j]))
            j += 1
        align = lambda k: aligns[k] if k < len(aligns) else ""  # noqa: E731
        parts = ['<div class="scroll"><table>', "<thead><tr>"]
        parts += [f"<th{align(k)}>{self.inline(c)}</th>" for k, c in enumerate(header)]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            row = (row + [""] * len(header))[:len(header)]
            parts.append("<tr>" + "".join(f"<td{align(k)}>{self.inline(c)}</td>"
                                          for k, c in enumerate(row)) + "</tr>")
        parts.append("</tbody></table></div>")
        out.append("".join(parts))
        return j

    def _list(self, lines, i, out):
        first = _ITEM.match(lines[i])
        ordered = first.group(2)[0].isdigit()
        base = len(first.group(1))
        items = []
        j = i

        def _same_list(line):
            m = _ITEM.match(line)
            return bool(m) and len(m.group(1)) == base and m.group(2)[0].isdigit() == ordered

        while j < len(lines):
            line = lines[j]
            if _same_list(line):
                items.append([_ITEM.match(line).group(3)])
                j += 1
            elif line.strip() and (line.startswith(" " * (base + 2))
                                   or not self._starts_block(lines, j)):
                items[-1].append(line[base + 2:] if line.startswith(" " * (base + 2))
                                 else line.strip())
                j += 1
            elif not line.strip() and j + 1 < len(lines) and lines[j + 1].strip() and (
                    lines[j + 1].startswith(" " * (base + 2)) or _same_list(lines[j + 1])):
                items[-1].append("")  # a loose list: the item or the list goes on
                j += 1
            else:
                break
        tag = "ol" if ordered else "ul"
        start = int(first.group(2)[:-1]) if ordered else 1
        parts = [f"<{tag}{'' if start == 1 else f' start={start}'}>"]
        for item in items:
            body = self.blocks(item)
            if body.startswith("<p>") and body.count("<p>") == 1 and body.endswith("</p>"):
                body = body[3:-4]  # a one-paragraph item: no paragraph margins
            elif body.startswith("<p>") and "\n" in body:
                first_block, rest = body.split("\n", 1)
                if first_block.endswith("</p>") and first_block.count("<p>") == 1:
                    body = first_block[3:-4] + "\n" + rest
            parts.append(f"<li>{body}</li>")
        parts.append(f"</{tag}>")
        out.append("".join(parts))
        return j


# ---------------------------------------------------------------------------------------------
# The folder
# ---------------------------------------------------------------------------------------------

def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_png(path):
    """The bytes of a PNG file with its width and height, or None if it is not one."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return data, width, height


def img_tag(png, alt):
    data, width, height = png
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<img src="{uri}" width="{width}" height="{height}" alt="{esc(alt)}">'


def number_text(text):
    """A number as the summary shows it: 4 significant digits, exponent outside 1e-3..1e4;
    '-' for nan; any other text as it is."""
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return text
    if value == int(value) and abs(value) < 1e6:  # counts and steps
        return str(int(value))
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def spec_name(spec_text):
    m = re.search(r'^name\s*=\s*"([^"]*)"', spec_text, re.M)
    return m.group(1) if m else None


def figure_names(plots):
    from .plot import FIGURES
    if not os.path.isdir(plots):
        return []
    found = sorted(n for n in os.listdir(plots) if n.lower().endswith(".png")
                   and os.path.isfile(os.path.join(plots, n)))
    return [n for n in FIGURES if n in found] + [n for n in found if n not in FIGURES]


def status_counts(statuses):
    counts = {s: statuses.count(s) for s in STATUSES}
    for s in statuses:
        counts.setdefault(s, statuses.count(s))
    return counts


def summary_section(summary):
    header = summary.header
    if "runs" not in header:
        raise DataError(f"{summary.path}: missing column 'runs'")
    axes = header[:header.index("runs")]
    metrics = [m for m in METRICS if f"{m}_mean" in header]
    summary.require(*[s for s in STATUSES], *[f"{m}_{k}" for m in metrics
                                              for k in ("mean", "std", "min", "max")])
    cols = list(summary.frame.columns)
    rows = summary.frame.values.tolist()
    at = {name: cols.index(name) for name in cols}
    parts = ['<div class="scroll"><table id="summary-table"><thead><tr>']
    parts += [f"<th>{esc(a)}</th>" for a in axes]
    parts += ["<th>runs</th><th>status</th>"]
    parts += [f"<th>{esc(m)}</th>" for m in metrics]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        cells = [f"<td>{esc(row[k])}</td>" for k in range(len(axes))]
        cells.append(f'<td class="num">{esc(row[at["runs"]])}</td>')
        status = "<br>".join(esc(f"{row[at[s]]} {s}") for s in STATUSES
                             if row[at[s]] not in ("0", ""))
        bad = any(row[at[s]] not in ("0", "") for s in ("diverged", "stalled"))
        warn = ' class="warn"' if bad else ""
        cells.append(f"<td{warn}>{status}</td>")
        for m in metrics:
            mean, std = (number_text(row[at[f"{m}_{k}"]]) for k in ("mean", "std"))
            lo, hi = (number_text(row[at[f"{m}_{k}"]]) for k in ("min", "max"))
            text = mean if std == "-" else f"{mean} \u00b1 {std}"
            cells.append(f'<td class="num" title="min {esc(lo)} .. max {esc(hi)}">'
                         f"{esc(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    note = (f"<p>{len(rows)} settings (every grid axis but the seed): mean \u00b1 std over the "
            f"runs where the value is finite (<code>steps_to_target</code>: over the runs that "
            f"reached the target); hover a cell for its min .. max. Every column: "
            f"<code>summary.csv</code>.</p>")
    return note + "".join(parts)


def diagnostics_section(folder, runs, notes, summary_header=None):
    runs.require("run_id", "status", "steps_run", "stall_step", "final_train_loss")
    statuses = runs.text("status")
    counts = status_counts(statuses)
    parts = [f"<p>{len(statuses)} runs: " + ", ".join(
        f'<span class="{"warn" if s in ("diverged", "stalled") and n else "ok"}">{n} {esc(s)}'
        f"</span>" for s, n in counts.items()) + ".</p>"]
    axes = axis_columns(runs.header, summary_header)
    # without an axis, the scheme (init.scheme; "scheme" in a runs.csv of the older layout)
    shown = (axes or ["scheme" if is_old_layout(runs.header) else "init.scheme"]) + ["seed"]
    diagnosed = "verdict" in runs.header
    bad = [i for i, s in enumerate(statuses) if s in ("diverged", "stalled")]
    if bad:
        frame = runs.frame
        columns = (["run_id"] + shown + ["status", "steps_run", "stall_step", "final_train_loss"]
                   + (["verdict"] if diagnosed else []))
        parts.append("<p>Runs that diverged (the loss or a parameter became NaN or Inf; the run "
                     "stopped at <code>steps_run</code>) or stalled (stopped early, the loss no "
                     "longer moving from <code>stall_step</code> on):</p>")
        parts.append('<div class="scroll"><table id="problem-runs"><thead><tr>'
                     + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead><tbody>")
        for i in bad[:MAX_LISTED_RUNS]:
            parts.append("<tr>" + "".join(
                f"<td>{esc(frame[c].iloc[i])}</td>" for c in columns) + "</tr>")
        parts.append("</tbody></table></div>")
        if len(bad) > MAX_LISTED_RUNS:
            parts.append(f"<p>... and {len(bad) - MAX_LISTED_RUNS} more (runs.csv).</p>")
    else:
        parts.append('<p class="ok">No run diverged or stalled.</p>')
    parts.append(verdicts_table(runs, shown) if diagnosed else
                 "<p>runs.csv has no verdict columns (it was written before them): "
                 "<code>initbench diagnose DIR</code> computes them from the CSV files.</p>")
    if notes:
        parts.append("<ul>" + "".join(f'<li class="warn">{n}</li>' for n in notes) + "</ul>")
    return "".join(parts)


def verdicts_table(runs, shown):
    """runs.csv's verdicts (docs/diagnosis.md): how many runs got each summary, then every run
    (the first MAX_LISTED_RUNS) with its settings and one column per failure mode."""
    frame = runs.frame
    verdicts = list(frame["verdict"])
    counts = {}
    for v in verdicts:
        counts[v] = counts.get(v, 0) + 1
    parts = ["<p>Verdicts (one per failure mode, from the run's probes; <code>unknown</code>: "
             "its probe was off): " + ", ".join(
                 f'<span class="{"ok" if v.startswith("ok") else "warn"}">{n} {esc(v)}</span>'
                 for v, n in counts.items()) + ".</p>"]
    columns = ["run_id"] + shown + DIAGNOSIS_COLUMNS
    parts.append('<div class="scroll"><table id="verdicts"><thead><tr>'
                 + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead><tbody>")
    for i in range(min(len(verdicts), MAX_LISTED_RUNS)):
        parts.append("<tr>" + "".join(
            f"<td>{esc(frame[c].iloc[i])}</td>" for c in columns) + "</tr>")
    parts.append("</tbody></table></div>")
    if len(verdicts) > MAX_LISTED_RUNS:
        parts.append(f"<p>... and {len(verdicts) - MAX_LISTED_RUNS} more (runs.csv).</p>")
    return "".join(parts)


def meta_section(path):
    if not os.path.isfile(path):
        return ("<p>No <code>meta.json</code> (the version, commit, compiler and date of the run; "
                "not committed under <code>results/</code>).</p>")
    text = read_text(path)
    try:
        meta = json.loads(text)
    except ValueError as e:
        raise DataError(f"{path}: not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: not a JSON object")
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v if isinstance(v, str) else json.dumps(v))}"
                   f"</td></tr>" for k, v in meta.items())
    return f'<div class="scroll"><table>{rows}</table></div>'


def build(folder):
    """The page for an experiment folder, as text. Raises DataError (or FileNotFoundError) for
    a folder that is not an experiment folder or holds a malformed file."""
    from .tables import Table
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: no such folder" if not os.path.exists(folder)
                        else f"{folder}: not a folder")
    join = lambda name: os.path.join(folder, name)  # noqa: E731
    for name in ("runs.csv", "summary.csv", "spec.toml"):
        if not os.path.isfile(join(name)):
            raise DataError(f"{join(name)}: missing (is {folder} an experiment folder written "
                            f"by initbench run or merge?)")
    runs = Table.read(join("runs.csv"))
    if runs.header[:len(RUN_COLUMNS)] != RUN_COLUMNS and not is_old_layout(runs.header):
        raise DataError(f"{join('runs.csv')}: unexpected columns; expected {RUN_COLUMNS}")
    summary = Table.read(join("summary.csv"))
    spec = read_text(join("spec.toml"))
    name = spec_name(spec) or os.path.basename(os.path.normpath(os.path.abspath(folder)))
    notes = []

    title = name
    readme_html = ""
    if os.path.isfile(join("README.md")):
        readme = read_text(join("README.md"))
        lines = readme.split("\n")
        first = next((k for k, l in enumerate(lines) if l.strip()), None)
        heading = _HEADING.match(lines[first]) if first is not None else None
        if heading and len(heading.group(1)) == 1:
            title = heading.group(2)
            lines = lines[first + 1:]
        readme_html = Markdown(folder).render("\n".join(lines))
    else:
        notes.append("No <code>README.md</code>: the claim and the verdict are not written down "
                     "yet.")

    figures = []
    plots = join("plots")
    for figure in figure_names(plots):
        png = read_png(os.path.join(plots, figure))
        if png is None:
            notes.append(f"<code>plots/{esc(figure)}</code> is not a PNG file: left out.")
            continue
        figures.append(f'<figure id="fig-{esc(figure[:-4])}">{img_tag(png, figure)}'
                       f"<figcaption>plots/{esc(figure)}</figcaption></figure>")
    if not figures:
        notes.append("No figures in <code>plots/</code>: draw them with <code>initbench plot "
                     f"{esc(folder)}</code>, then make the report again.")
    meta_path = join("meta.json")
    if os.path.isfile(meta_path):
        m = re.search(r'"shard":\s*"(\d+)/(\d+)"', read_text(meta_path))
        if m and m.group(2) != "1":
            notes.append(f"This folder is shard {m.group(1)} of {m.group(2)}: it holds only "
                         f"that shard's runs (<code>initbench merge</code> joins the shards).")

    sections = []
    if readme_html:
        sections.append(("readme", "Claim and verdict", "README.md", readme_html))
    sections.append(("diagnostics", "Diagnostics", "runs.csv",
                     diagnostics_section(folder, runs, notes, summary.header)))
    sections.append(("summary", "Summary", "summary.csv", summary_section(summary)))
    sections.append(("figures", "Figures", "plots/",
                     "\n".join(figures) if figures else "<p>No figures.</p>"))
    sections.append(("spec", "Spec", "spec.toml", f"<pre><code>{esc(spec)}</code></pre>"))
    sections.append(("provenance", "Provenance", "meta.json", meta_section(meta_path)))

    nav = "".join(f'<a href="#{key}">{esc(heading)}</a>' for key, heading, _, _ in sections)
    body = "\n".join(f'<section id="{key}">\n<h2>{esc(heading)} <small><code>{esc(source)}'
                     f"</code></small></h2>\n{content}\n</section>"
                     for key, heading, source, content in sections)
    plain_title = re.sub(r"[`*]", "", title)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{GENERATOR}\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(plain_title)}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{Markdown(folder).inline(title)}</h1>\n"
            f'<p class="folder">initbench experiment <code>{esc(name)}</code>: '
            f"{len(runs)} runs, {len(summary)} settings, {len(figures)} figures</p>\n"
            f"<nav>{nav}</nav>\n{body}\n</body>\n</html>\n")


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

def check_output(path, force):
    """Raises DataError if path cannot or must not be written (before any work)."""
    if os.path.isdir(path):
        raise DataError(f"{path} is a folder: -o takes the file to write")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise DataError(f"cannot write {path}: no folder {os.path.dirname(path) or parent}")
    if os.path.exists(path) and not force:
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError as e:
            raise DataError(f"cannot read {path}: {e.strerror}") from None
        if GENERATOR.encode() not in head:
            raise DataError(f"{path} exists and is not a report initbench wrote: not replaced; "
                            f"pass --force to replace it, or choose another -o")


def write_whole(path, text):
    """Writes text to path through a temporary file in the same folder, renamed once it is
    complete and flushed: path is either the old file or the new one, never a partial one."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def report(folder, out=None, force=False):
    """Writes the page of folder to out (default folder/report.html); returns out."""
    out = out or os.path.join(folder, DEFAULT_NAME)
    check_output(out, force)
    text = build(folder)
    try:
        write_whole(out, text)
    except OSError as e:
        raise DataError(f"cannot write {out}: {e.strerror or e}") from None
    return out


def main(argv):
    """The command line: main(["DIR", "-o", "FILE"]) writes the page; returns the exit status."""
    ap = argparse.ArgumentParser(
        prog="report.py", description=__doc__.replace(USAGE + "\n\n", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", metavar="DIR", help="an experiment folder written by initbench run")
    ap.add_argument("-o", "--output", metavar="FILE",
                    help=f"the page to write (default DIR/{DEFAULT_NAME})")
    ap.add_argument("--force", action="store_true",
                    help="replace FILE even when it is not a report initbench wrote")
    args = ap.parse_args(argv)
    try:
        import pandas  # noqa: F401
    except ImportError as e:
        print(f"report.py: error: {e.name} is not installed for {sys.executable} (Debian: "
              f"apt-get install python3-pandas)", file=sys.stderr)
        return 3
    return one_line_errors("report.py", "INITBENCH_REPORT_DEBUG",
                           lambda: print(f"wrote {report(args.dir, args.output, args.force)}"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
