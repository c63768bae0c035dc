#!/usr/bin/python3
"""ctest: `initbench report`, the self-contained HTML page of an experiment folder.

Usage: /usr/bin/python3 tests/test_html_report.py INITBENCH SOURCE_DIR page|browser

page     On a copy of the committed results/course_init (README.md, plots/) and on a small run
         with diverged and stalled runs and no figures: the page is written to DIR/report.html
         and nothing else in the folder changes; it refers to nothing outside itself (every
         src a data: URI of a PNG, every href an anchor, no script, stylesheet or frame); each
         figure of plots/ is embedded byte for byte; the summary table has summary.csv's rows;
         the README's headings, tables, lists and code are rendered; the spec is spec.toml; the
         diagnostics list exactly the diverged and stalled runs of runs.csv; the same folder
         gives the same bytes; results/*/report.html is ignored by git. Errors are one line, a
         non-zero exit and no file: a missing folder, a folder without runs.csv, a malformed
         summary.csv, an output file that is not a report (refused; replaced with --force), an
         output in a missing folder, and a write that fails half-way (file size limit: the old
         report stays, no temporary is left).
browser  Debian's chromium renders the page of the course_init copy headless (--dump-dom, with
         a probe script added to a copy of the page): every image is decoded (drawn on a canvas:
         its natural size is its PNG's, and it has ink), the summary table has summary.csv's rows
         and nothing was loaded from outside; the probe reports a corrupted image as such; and a
         screenshot at the figures is a valid PNG with coloured pixels. Exits 77 when chromium is
         missing (scripts/install-deps.sh installs it).

Both exit 77 (ctest SKIP_RETURN_CODE) when pandas is missing. Every subprocess has a timeout.
"""

import base64
import csv
import hashlib
import html.parser
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

from plot_support import SKIP, Failure, check, run, test_main

TIMEOUT = 120  # seconds, for any one command

# Diverged (a huge learning rate) and stalled (zeros: the loss never moves) runs, with no
# figures drawn.
TROUBLE_SPEC = """\
name = "trouble"
seed = [1, 2]

[data]
kind = "circles"
train = 60
test = 20

[model]
layers = [2, 6, 1]

[init]
scheme = ["zeros", "he_normal"]

[train]
lr = [0.1, 1e30]
steps = 40
eval_every = 5
stall_window = 10
stop_on_stall = true
"""


class Page(html.parser.HTMLParser):
    """What the checks read from a page: tags, attributes, section texts, table rows."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []        # (tag, attrs dict)
        self.stack = []
        self.text = {}        # section id -> its text
        self.rows = {}        # table id -> [[cell text]]
        self.title = ""
        self._section = None
        self._table = None
        self._row = None
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section":
            self._section = attrs.get("id")
            self.text[self._section] = ""
        elif tag == "table":
            self._table = attrs.get("id")
            if self._table:
                self.rows[self._table] = []
        elif tag == "tr" and self._table and "tbody" in self.stack:
            self._row = []
            self.rows[self._table].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "section":
            self._section = None
        elif tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title":
            self.title += data
        if self._section:
            self.text[self._section] += data
        if self._cell is not None:
            self._cell += data


def csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def png_size(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG")
    return struct.unpack(">II", data[16:24])


def report(initbench, *args, **kw):
    return run([initbench, "report", *args], timeout=TIMEOUT, **kw)


def expect_error(result, what, *needles):
    err = result.stderr.strip()
    check(result.returncode != 0, f"{what}: exit 0\n{result.stdout}")
    check(len(err.splitlines()) == 1 and "Traceback" not in err,
          f"{what}: the error is not one line:\n{result.stderr}")
    for needle in needles:
        check(needle in err, f"{what}: the error does not say {needle!r}: {err}")
    print(f"  {what}: {err}")


def no_temporaries(folder):
    left = [n for n in os.listdir(folder) if ".tmp" in n]
    check(not left, f"{folder}: temporary files left: {left}")


def all_digests(folder):
    """Relative path -> SHA-256 of every file under folder."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                out[os.path.relpath(os.path.join(root, name), folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def course_copy(source, work):
    folder = os.path.join(work, "course_init")
    shutil.copytree(os.path.join(source, "results", "course_init"), folder,
                    ignore=shutil.ignore_patterns("report.html"))
    return folder


# ---------------------------------------------------------------------------------------------
# page
# ---------------------------------------------------------------------------------------------

def check_self_contained(page, folder):
    """Nothing outside the file: data: PNGs, anchors, no script, stylesheet, frame or font."""
    for tag, attrs in page.tags:
        check(tag not in ("script", "link", "iframe", "object", "embed", "base"),
              f"the page has a <{tag}>")
        for name in ("src", "srcset", "href", "action", "poster", "data"):
            value = attrs.get(name)
            if value is None:
                continue
            ok = (value.startswith("data:image/png;base64,") if name == "src"
                  else name == "href" and value.startswith("#"))
            check(ok, f"<{tag} {name}={value[:60]!r}> refers outside the page")
            if name == "href":
                check(any(a.get("id") == value[1:] for _, a in page.tags),
                      f"the anchor {value} leads nowhere")
    with open(os.path.join(folder, "report.html"), encoding="utf-8") as f:
        text = f.read()
    check(not re.search(r"url\(|@import|https?://", text.split("<body>")[0]),
          "the page's head loads something (url(), @import, http)")


def check_course_page(initbench, source, work):
    folder = course_copy(source, work)
    before = all_digests(folder)
    r = report(initbench, folder)
    check(r.returncode == 0, f"report: exit {r.returncode}\n{r.stdout}{r.stderr}")
    out = os.path.join(folder, "report.html")
    check(r.stdout.strip() == f"wrote {out}", f"report: stdout {r.stdout!r}")
    after = all_digests(folder)
    check(after.pop("report.html", None) and after == before,
          "report changed the folder beyond report.html")
    no_temporaries(folder)
    with open(out, encoding="utf-8") as f:
        text = f.read()
    page = Page(text)
    check_self_contained(page, folder)

    with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
        heading = f.readline().lstrip("# ").strip()
    check(page.title == heading, f"title {page.title!r}, expected the README's {heading!r}")

    plots = os.path.join(folder, "plots")
    pngs = sorted(n for n in os.listdir(plots) if n.endswith(".png"))
    images = [a for t, a in page.tags if t == "img"]
    check(len(images) == len(pngs), f"{len(images)} images for {len(pngs)} PNG files")
    for name in pngs:
        with open(os.path.join(plots, name), "rb") as f:
            data = f.read()
        match = [a for a in images if a.get("alt") == name]
        check(len(match) == 1, f"plots/{name}: {len(match)} images with that alt text")
        embedded = base64.b64decode(match[0]["src"].split(",", 1)[1], validate=True)
        check(embedded == data, f"plots/{name}: the embedded bytes differ from the file")
        w, h = png_size(data)
        check((match[0].get("width"), match[0].get("height")) == (str(w), str(h)),
              f"plots/{name}: width/height {match[0].get('width')}x{match[0].get('height')}, "
              f"the PNG is {w}x{h}")
    print(f"  {len(pngs)} figures embedded byte for byte, nothing loaded from outside")

    summary = csv_rows(os.path.join(folder, "summary.csv"))
    rows = page.rows.get("summary-table", [])
    check(len(rows) == len(summary), f"summary table: {len(rows)} rows, summary.csv has "
                                     f"{len(summary)}")
    check([r[0] for r in rows] == [s["init.scheme"] for s in summary],
          f"summary table: first column {[r[0] for r in rows]}")
    he = rows[[s["init.scheme"] for s in summary].index("he_normal")]
    check("8 converged" in " ".join(he) and "0.9337 \u00b1 0.143" in he,
          f"summary table: he_normal row {he}")
    print(f"  summary table: {len(rows)} rows, as summary.csv")

    readme = page.text.get("readme", "")
    for needle in ("Verdict", "Claim.", "cost at iteration 0", "scripts/results_tables.py",
                   "Zeros stays at cost ln 2"):
        check(needle in readme, f"README section lacks {needle!r}")
    check("**" not in readme and "BEGIN summary" not in readme and "](" not in readme,
          "README section shows raw Markdown (** or a link) or an HTML comment")
    kinds = {t for t, _ in page.tags}
    check({"h3", "ul", "li", "strong", "pre", "code", "table"} <= kinds,
          f"README not rendered: tags {sorted(kinds)}")
    with open(os.path.join(folder, "spec.toml"), encoding="utf-8") as f:
        spec = f.read()
    check(page.text.get("spec", "").strip().endswith(spec.strip()),
          "the spec section is not spec.toml")
    check("No run diverged or stalled" in page.text.get("diagnostics", ""),
          "course_init's diagnostics do not say no run diverged or stalled")
    print("  README rendered (headings, lists, tables, code), spec.toml shown")

    r = report(initbench, folder)
    with open(out, encoding="utf-8") as f:
        check(r.returncode == 0 and f.read() == text,
              "a second report of the same folder is not the same bytes")
    print("  the same folder gives the same bytes (its own report is replaced)")
    return folder


def check_trouble_page(initbench, work):
    spec = os.path.join(work, "trouble.toml")
    with open(spec, "w") as f:
        f.write(TROUBLE_SPEC)
    r = run([initbench, "run", spec, "--out", work, "--no-plot", "--threads", "2"],
            timeout=TIMEOUT)
    check(r.returncode == 0, f"run trouble: exit {r.returncode}\n{r.stderr}")
    folder = os.path.join(work, "trouble")
    runs = csv_rows(os.path.join(folder, "runs.csv"))
    bad = [r["run_id"] for r in runs if r["status"] in ("diverged", "stalled")]
    statuses = {r["status"] for r in runs}
    check({"diverged", "stalled"} <= statuses, f"the trouble spec gave statuses {statuses}")
    out = os.path.join(work, "trouble.html")
    r = report(initbench, folder, "-o", out)
    check(r.returncode == 0, f"report trouble: exit {r.returncode}\n{r.stderr}")
    check(not os.path.exists(os.path.join(folder, "report.html")),
          "report -o FILE also wrote DIR/report.html")
    with open(out, encoding="utf-8") as f:
        page = Page(f.read())
    listed = [row[0] for row in page.rows.get("problem-runs", [])]
    check(listed == bad, f"diagnostics list runs {listed}, runs.csv's diverged or stalled runs "
                         f"are {bad}")
    diag = page.text.get("diagnostics", "")
    for status in ("diverged", "stalled"):
        n = sum(r["status"] == status for r in runs)
        check(f"{n} {status}" in diag, f"diagnostics do not count {n} {status}")
    check("No figures" in diag and "initbench plot" in diag, "diagnostics do not note the "
                                                              "missing figures")
    check("No README.md" in diag, "diagnostics do not note the missing README.md")
    check(not [t for t, _ in page.tags if t == "img"], "images in a folder without plots/")
    print(f"  diagnostics list the {len(bad)} diverged or stalled runs; missing figures and "
          f"README noted")
    return folder


def check_errors(initbench, source, work, course):
    missing = os.path.join(work, "no_such_folder")
    expect_error(report(initbench, missing), "a missing folder", "no_such_folder")
    check(not os.path.exists(missing), "a missing folder was created")

    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    expect_error(report(initbench, empty), "a folder without runs.csv", "runs.csv")
    check(os.listdir(empty) == [], "the report of an empty folder wrote a file")

    bad = os.path.join(work, "bad_summary")
    shutil.copytree(course, bad)
    os.remove(os.path.join(bad, "report.html"))
    with open(os.path.join(bad, "summary.csv")) as f:
        lines = f.read().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:-2])
    with open(os.path.join(bad, "summary.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    expect_error(report(initbench, bad), "a short row in summary.csv", "summary.csv:4")
    check(not os.path.exists(os.path.join(bad, "report.html")), "a malformed folder got a page")

    other = os.path.join(work, "notes.html")
    with open(other, "w") as f:
        f.write("<p>my notes</p>\n")
    expect_error(report(initbench, course, "-o", other), "an output that is not a report",
                 "notes.html", "--force")
    with open(other) as f:
        check(f.read() == "<p>my notes</p>\n", "the refused output file was changed")
    r = report(initbench, course, "-o", other, "--force")
    with open(other) as f:
        check(r.returncode == 0 and "initbench report" in f.read(),
              f"--force did not replace the output file: {r.stderr}")
    print("  --force replaces a file that is not a report")

    expect_error(report(initbench, course, "-o", os.path.join(work, "nowhere", "r.html")),
                 "an output in a missing folder", "nowhere")
    expect_error(report(initbench, course, "-o", work), "an output that is a folder", work)

    # A write that fails half-way (the file size limit: Python ignores SIGXFSZ, so the write
    # fails with EFBIG): one line, the old report as it was, no temporary.
    out = os.path.join(course, "report.html")
    with open(out, "rb") as f:
        old = f.read()
    with open(out, "ab") as f:
        f.write(b"<!-- an older report -->\n")
    old += b"<!-- an older report -->\n"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(old) // 4, len(old) // 4))

    r = subprocess.run([initbench, "report", course], capture_output=True, text=True,
                       timeout=TIMEOUT, preexec_fn=limit)
    expect_error(r, "a write that fails half-way", "report.html")
    with open(out, "rb") as f:
        check(f.read() == old, "the failed write changed the old report")
    no_temporaries(course)

    r = run(["git", "-C", source, "check-ignore", "-q", "results/course_init/report.html"],
            timeout=TIMEOUT) if shutil.which("git") and os.path.isdir(
                os.path.join(source, ".git")) else None
    if r is not None:
        check(r.returncode == 0, "git does not ignore results/course_init/report.html")
        print("  git ignores results/*/report.html")


def page_group(initbench, source, work):
    print("course_init (a copy of the committed folder):")
    course = check_course_page(initbench, source, work)
    print("trouble (diverged and stalled runs, no figures, no README):")
    check_trouble_page(initbench, work)
    print("errors:")
    check_errors(initbench, source, work, course)


# ---------------------------------------------------------------------------------------------
# browser
# ---------------------------------------------------------------------------------------------

# Added before </body> of a copy of the page: once it has loaded, draws every image on a canvas
# (which decodes it whole) and records its natural size and its inked pixels (not near white),
# the summary table's rows and every resource loaded from outside the page.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(img => {
    const c = document.createElement("canvas");
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    if (!c.width || !c.height) return "0x0:0";
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let k = 0; k < d.length; k += 4)
      if (d[k + 3] > 0 && (d[k] < 240 || d[k + 1] < 240 || d[k + 2] < 240)) ++ink;
    return c.width + "x" + c.height + ":" + ink;
  });
  const b = document.body;
  b.dataset.images = images.join(" ");
  b.dataset.summaryRows = document.querySelectorAll("#summary-table tbody tr").length;
  b.dataset.external = performance.getEntriesByType("resource")
      .filter(e => !e.name.startsWith("data:")).map(e => e.name).join(" ");
  b.dataset.probed = "yes";
});
</script>
"""


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browse(browser, work, url, *args):
    profile = tempfile.mkdtemp(prefix="profile-", dir=work)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}", *args, url]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:"))
    except subprocess.TimeoutExpired:
        raise Failure(f"chromium did not finish within {TIMEOUT} s: {' '.join(cmd)}") from None


def probe(browser, work, page_path, name):
    with open(page_path, encoding="utf-8") as f:
        text = f.read()
    probe_path = os.path.join(work, name)
    with open(probe_path, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", PROBE + "</body>"))
    r = browse(browser, work, "file://" + probe_path, "--dump-dom")
    body = re.search(r"<body[^>]*>", r.stdout)
    check(r.returncode == 0 and body, f"chromium --dump-dom: exit {r.returncode}\n"
                                      f"{r.stderr[-2000:]}")
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(0)))
    check(attrs.get("probed") == "yes", f"the probe did not run: {body.group(0)[:300]}")
    return attrs


def decode_png(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG, not interlaced."""
    w, h = png_size(data)
    depth, color, _, _, interlace = data[24:29]
    check(depth == 8 and color in (2, 6) and interlace == 0,
          f"screenshot: bit depth {depth}, colour type {color}, interlace {interlace}")
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if data[pos + 4:pos + 8] == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 3 if color == 2 else 4
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def undecoded(names, sizes, images):
    """The images of the probe's list that are not their PNG, decoded: wrong size, or blank."""
    bad = []
    for name, (w, h), shown in zip(names, sizes, images):
        size, ink = shown.split(":")
        if size != f"{w}x{h}":
            bad.append(f"plots/{name}: {size}, the PNG is {w}x{h}")
        elif int(ink) <= w * h // 100:
            bad.append(f"plots/{name}: blank ({ink} inked pixels)")
    return bad


def browser_group(initbench, source, work):
    browser = chromium()
    if browser is None:
        print("SKIP: chromium is not installed (Debian's chromium; scripts/install-deps.sh "
              "installs it)")
        return SKIP
    folder = course_copy(source, work)
    r = report(initbench, folder)
    check(r.returncode == 0, f"report: exit {r.returncode}\n{r.stderr}")
    page = os.path.join(folder, "report.html")

    attrs = probe(browser, work, page, "probe.html")
    plots = os.path.join(folder, "plots")
    sizes = []
    with open(page, encoding="utf-8") as f:
        order = re.findall(r'alt="([^"]+\.png)"', f.read())
    for name in order:
        with open(os.path.join(plots, name), "rb") as f:
            sizes.append(png_size(f.read()))
    images = attrs.get("images", "").split()
    check(len(images) == len(order) == len(os.listdir(plots)),
          f"chromium shows {len(images)} images; plots/ has {len(os.listdir(plots))}")
    bad = undecoded(order, sizes, images)
    check(not bad, "chromium did not decode " + "; ".join(bad))
    summary = csv_rows(os.path.join(folder, "summary.csv"))
    check(attrs.get("summary-rows") == str(len(summary)),
          f"chromium shows {attrs.get('summary-rows')} summary rows, summary.csv has "
          f"{len(summary)}")
    check(attrs.get("external") == "", f"chromium loaded {attrs.get('external')}")
    print(f"chromium: {len(images)} figures decoded at their PNG sizes, {len(summary)} summary "
          f"rows, nothing loaded from outside")

    # The probe can fail: an image whose data is cut short is not decoded.
    with open(page, encoding="utf-8") as f:
        text = f.read()
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = os.path.join(work, "broken.html")
    with open(broken, "w", encoding="utf-8") as f:
        f.write(text[:start + 200] + text[text.index('"', start):])
    shown = probe(browser, work, broken, "probe_broken.html").get("images", "").split()
    bad = undecoded(order, sizes, shown)
    check(len(bad) == 1 and bad[0].startswith(f"plots/{order[0]}:"),
          f"a page with {order[0]} cut short: the probe found {bad or 'nothing wrong'}")
    print("chromium: a corrupted image is reported as not decoded")

    # A screenshot of the figures: a copy of the page with the other sections hidden (headless
    # screenshots do not follow a scroll to #figures), 1000x800 pixels; its lower half holds
    # nothing but the first figure, which has coloured lines (text and page are grey or white).
    figures_only = os.path.join(work, "figures_only.html")
    with open(figures_only, "w", encoding="utf-8") as f:
        f.write(text.replace("</head>", "<style>section:not(#figures) { display: none; }"
                                        "</style>\n</head>"))
    shot = os.path.join(work, "figures.png")
    r = browse(browser, work, "file://" + figures_only, f"--screenshot={shot}",
               "--window-size=1000,800")
    check(r.returncode == 0 and os.path.isfile(shot), f"chromium --screenshot: exit "
                                                      f"{r.returncode}\n{r.stderr[-2000:]}")
    with open(shot, "rb") as f:
        w, h, rows = decode_png(f.read())
    check((w, h) == (1000, 800), f"screenshot: {w}x{h}, expected 1000x800")
    coloured = sum(1 for row in rows[h // 2:] for (red, green, blue) in row
                   if max(red, green, blue) - min(red, green, blue) > 60)
    check(coloured > w * h // 200, f"screenshot of the figures: {coloured} coloured pixels in "
                                   f"its lower half (blank?)")
    print(f"chromium: a screenshot of the figures has {coloured} coloured pixels in its lower "
          f"half")
    return 0


def missing_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return (f"SKIP: pandas is not installed for {sys.executable} (apt-get install "
                f"python3-pandas)")
    return None


def main():
    group = {"page": page_group, "browser": browser_group}.get(sys.argv[-1])
    if group is None:
        print(__doc__)
        return 2
    return test_main(__doc__, 3, f"initbench-report-{sys.argv[-1]}-",
                     lambda args, work: group(os.path.abspath(args[0]),
                                              os.path.abspath(args[1]), work),
                     missing=missing_pandas)


if __name__ == "__main__":
    sys.exit(main())
