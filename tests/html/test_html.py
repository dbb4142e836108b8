# SPDX-License-Identifier: MIT
"""The HTML report in a real browser (suite 'html').

Each test drives the built CLI on a real victim (tests/scenarios/grow.py
under `lruleak run --trace-alloc --html`), or on a recording it writes
itself (a day of 1 Hz samples), then loads the page in Debian's chromium,
headless, and reads back the DOM chromium dumps, parsed here with the
standard library's html.parser. Numbers are checked against the recording
parsed independently with json, and against the victim's own ground truth
(weak references and gc.collect() in a forked child, see grow.py).

Environment (from meson): LRULEAK_CLI, E2E_SCENARIOS, PYTHON (the victim's
interpreter), CHROMIUM (optional; default: chromium on PATH).
"""
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

CLI = os.environ.get("LRULEAK_CLI", "lruleak")
TARGETS = os.environ.get("E2E_SCENARIOS", os.path.join(os.path.dirname(__file__), "..",
                                                       "scenarios"))
PYTHON = os.environ.get("PYTHON") or "/usr/bin/python3.11"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


# ---- a small DOM --------------------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and
                (cls is None or cls in n.attrs.get("class", "").split())]


VOID = {"meta", "br", "img", "link", "input", "hr", "area", "base", "col", "embed", "source",
        "track", "wbr", "circle", "line", "polyline", "path", "rect"}


class Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(text):
    b = Builder()
    b.feed(text)
    b.close()
    return b.root


# ---- running things -------------------------------------------------------------

def chromium(url, tmp, *extra):
    profile = tempfile.mkdtemp(dir=tmp)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile] + list(extra) + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


def run_victim(tmp, *victim_args, interval="0.1", trace="--trace-alloc"):
    rec, page, truth = (os.path.join(tmp, n) for n in ("rec.jsonl", "page.html", "truth.json"))
    env = dict(os.environ, LRULEAK_FOLLOW_FORKS="0")
    cmd = [CLI, "run", "--interval", interval, "--output", rec, "--html", page]
    cmd += [trace] if trace else []
    cmd += ["--", PYTHON, os.path.join(TARGETS, "grow.py"), "--truth", truth] + list(victim_args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    with open(truth, encoding="utf-8") as f:
        return rec, page, json.load(f), p.stderr


def recording(rec):
    """Per qualname: [(t, pinned, retained_bytes)] from every sample, and
    the last sample, read with json alone."""
    series, last = {}, None
    with open(rec, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") != "sample":
                continue
            last = r
            for c in r["caches"]:
                series.setdefault(c["qualname"], []).append(
                    (r["t"], c["pinned"], c["retained_bytes"]))
    return series, last


def cache_block(dom, qualname):
    for div in dom.find_all("div", "cache"):
        q = div.find_all("code", "qualname")
        if q and q[0].text() == qualname:
            return div
    raise AssertionError("no block for %r in the page" % qualname)


def floats(s):
    return [float(x) for x in s.split()]


# ---- the tests ----------------------------------------------------------------------

def test_page_names_the_leak_and_plots_the_recording(tmp_path):
    tmp = str(tmp_path)
    rec, page, truth, _ = run_victim(tmp, "--steps", "6", "--per", "15", "--sleep", "0.4")
    series, last = recording(rec)
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))

    text = dom.text()
    assert "Order.handle" in text
    block = cache_block(dom, "Order.handle")
    assert "LEAK" in block.text()

    # The table's pinned count is the program's own truth.
    pinned = {c["qualname"]: c["pinned"] for c in last["caches"]}
    assert pinned["Order.handle"] == truth["pinned"]["Order.handle"]
    rows = [tr for tr in dom.find_all("tr") if "Order.handle" in tr.text()]
    cells = [td.text() for td in rows[0].find_all("td")]
    assert str(truth["pinned"]["Order.handle"]) in cells

    # Its plot: one point per sample, the recording's values, placed by the axes.
    expect = series["Order.handle"]
    # How many samples a loaded machine fits into the run varies: at least
    # the first routine one and the final one.
    assert len(expect) >= 2
    for name, col in (("pinned", 1), ("retained", 2)):
        svg = [s for s in block.find_all("svg") if s.find_all("polyline", name)][0]
        line = svg.find_all("polyline", name)[0]
        ts, vs = floats(line.attrs["data-t"]), floats(line.attrs["data-v"])
        assert ts == [round(p[0], 3) for p in expect]
        assert vs == [float(p[col]) for p in expect]
        x0, y0, w, h = (float(svg.attrs["data-" + k]) for k in ("x0", "y0", "w", "h"))
        t0, t1, vmax = (float(svg.attrs["data-" + k]) for k in ("t0", "t1", "vmax"))
        pts = [tuple(map(float, p.split(","))) for p in line.attrs["points"].split()]
        assert len(pts) == len(expect)
        for (x, y), (t, v) in zip(pts, zip(ts, vs)):
            assert abs(x - (x0 + (t - t0) / (t1 - t0) * w)) < 0.06
            assert abs(y - (y0 + h - v / vmax * h)) < 0.06
        # Axes with units and tick labels, and a marker per sample.
        assert "time since the process started (s)" in svg.text()
        assert ("(count)" if name == "pinned" else "(bytes)") in svg.text()
        assert len(svg.find_all("text", "ytick")) >= 2
        assert len(svg.find_all("text", "xtick")) >= 1
        assert len(svg.find_all("circle", name)) == len(expect)

    # Several caches pin objects: the overview plot has a legend naming each.
    overview = dom.find_all("div", "overview")[0]
    legend = " ".join(g.text() for g in overview.find_all("g", "legend"))
    assert "Order.handle" in legend and "Ticket.price" in legend
    # No functools.cached_method in this interpreter: never suggested.
    assert last["functools_cached_method"] is False
    assert "cached_method" not in text


def test_allocation_sites_match_the_program(tmp_path):
    tmp = str(tmp_path)
    rec, page, truth, stderr = run_victim(tmp, "--steps", "4", "--per", "25", "--sleep", "0.2",
                                          "--early", "7", "--wait-trace", "--restart-trace",
                                          "3")
    _, last = recording(rec)
    # The program's own session (3 frames) was reused, never restarted.
    assert truth["frames"] == 3
    assert last["alloc_frames"] == 3
    for qualname, key in (("Order.handle", "Order.handle"), ("Ticket.price", "Ticket.price")):
        c = [c for c in last["caches"] if c["qualname"] == qualname][0]
        got = {}
        for s in c["alloc_sites"]:
            k = "unknown" if s.get("unknown") else "%s:%d" % (s["file"], s["line"])
            got[k] = s["count"]
            assert s["function"] is None  # tracemalloc names no function
        assert c["alloc_examined"] == c["pinned"]
        assert got == truth["sites"][key], (qualname, got, truth["sites"][key])
        assert sum(got.values()) == c["pinned"] == truth["pinned"][key]
    assert truth["sites"]["Order.handle"]["unknown"] == 7

    # The text report and the page show the top site under the cache.
    site = "grow.py:%d" % truth["site_line"]
    assert site in stderr and "unknown (no traceback" in stderr
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    block = cache_block(dom, "Order.handle")
    table = block.find_all("table", "sites")[0]
    rows = {tr.find_all("td")[0].text(): tr.find_all("td")[-1].text()
            for tr in table.find_all("tr") if tr.find_all("td")}
    full = "%s:%d" % (truth["file"], truth["site_line"])
    assert rows[full] == str(truth["sites"]["Order.handle"][full])
    assert [v for k, v in rows.items() if k.startswith("unknown")] == ["7"]
    assert "traced (tracemalloc, 3 frames)" in dom.text()


def test_injected_markup_is_text_and_runs_nothing(tmp_path):
    tmp = str(tmp_path)
    rec, page, truth, _ = run_victim(tmp, "--steps", "3", "--per", "10", "--sleep", "0.1",
                                     "--hostile", "--tag=<script>document.title='argv'</script>",
                                     trace=None)
    _, last = recording(rec)
    evil = [c["qualname"] for c in last["caches"] if "onerror" in c["qualname"]][0]
    assert "<script>" in evil and "<img" in evil
    dumped = chromium("file://" + page, tmp, "--dump-dom")
    dom = parse(dumped)
    # The page's only script-capable elements would come from the names.
    assert dom.find_all("script") == []
    assert dom.find_all("img") == []
    titles = [t.text() for t in dom.find_all("title") if t.parent.tag == "head"]
    assert titles == ["lruleak report"]
    # The names show as text, whole.
    assert evil in [q.text() for q in dom.find_all("code", "qualname")]
    assert "--tag=<script>document.title='argv'</script>" in dom.find_all("code", "argv")[0].text()
    assert cache_block(dom, evil).find_all("polyline", "pinned")


def test_advice_fits_the_code(tmp_path):
    tmp = str(tmp_path)
    rec, page, truth, stderr = run_victim(tmp, "--steps", "3", "--per", "10", "--sleep", "0.1",
                                          "--self-only", "--fake-cached-method", trace=None)
    _, last = recording(rec)
    assert last["functools_cached_method"] is True
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    total = cache_block(dom, "Order.total").find_all("div", "fix")[0]
    assert "cached_property" in total.text()
    assert "def total(self): ..." in total.find_all("pre")[0].text()
    handle = cache_block(dom, "Order.handle").find_all("div", "fix")[0]
    assert "@functools.cached_method" in handle.find_all("pre")[0].text()
    assert "@functools.cached_method" in stderr
    # Pinned as the program counts them, by both caches of Order.
    pinned = {c["qualname"]: c["pinned"] for c in last["caches"]}
    assert pinned["Order.total"] == pinned["Order.handle"] == truth["pinned"]["Order.handle"]

    # An interpreter without it never gets the suggestion.
    tmp2 = os.path.join(tmp, "plain")
    os.mkdir(tmp2)
    rec, page, _, stderr = run_victim(tmp2, "--steps", "2", "--per", "5", "--sleep", "0.1",
                                      trace=None)
    assert recording(rec)[1]["functools_cached_method"] is False
    with open(page, encoding="utf-8") as f:
        assert "cached_method" not in f.read()
    assert "cached_method" not in stderr


def test_sampled_sites_are_scaled_honestly(tmp_path):
    """More pinned objects than the agent looks up per sample: it says how
    many it examined and scales the counts so they add up to pinned."""
    tmp = str(tmp_path)
    rec, page, truth, stderr = run_victim(tmp, "--steps", "2", "--per", "3000", "--sleep",
                                          "0.1", "--early", "1000", "--wait-trace",
                                          "--restart-trace", "1", interval="0.5")
    _, last = recording(rec)
    c = [c for c in last["caches"] if c["qualname"] == "Order.handle"][0]
    assert c["pinned"] == truth["pinned"]["Order.handle"] == 1000 + 6000 - 600
    assert 0 < c["alloc_examined"] < c["pinned"]
    got = {("unknown" if s.get("unknown") else "%s:%d" % (s["file"], s["line"])): s["count"]
           for s in c["alloc_sites"]}
    want = truth["sites"]["Order.handle"]
    assert sum(got.values()) == c["pinned"]
    assert set(got) == set(want)
    for k in want:
        assert abs(got[k] - want[k]) <= 0.03 * c["pinned"], (k, got[k], want[k])
    assert "estimated from %d of %d" % (c["alloc_examined"], c["pinned"]) in stderr
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    assert "estimated: the agent looked up %d of the %d" % (c["alloc_examined"], c["pinned"]) \
        in cache_block(dom, "Order.handle").text()


def test_attach_trace_alloc(tmp_path):
    """lruleak attach PID --trace-alloc=2 on a victim started without the
    agent: the objects it made before are unknown, later ones have sites."""
    tmp = str(tmp_path)
    recdir, truth_path = os.path.join(tmp, "rec"), os.path.join(tmp, "truth.json")
    os.mkdir(recdir)
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env.update(LRULEAK_FOLLOW_FORKS="0", LRULEAK_DIR=os.path.join(tmp, "sock"),
               LRULEAK_RECORD=recdir)
    victim = subprocess.Popen([PYTHON, os.path.join(TARGETS, "grow.py"), "--truth", truth_path,
                               "--early", "30", "--wait-trace", "--steps", "3", "--per", "20",
                               "--sleep", "0.2"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert victim.stdout.readline().strip() == "EARLY DONE"
        p = subprocess.run([CLI, "attach", str(victim.pid), "--interval", "0.1",
                            "--trace-alloc=2"], capture_output=True, text=True, timeout=60,
                           env=env)
        assert p.returncode == 0, p.stderr
        assert victim.wait(timeout=60) == 0
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    with open(truth_path, encoding="utf-8") as f:
        truth = json.load(f)
    rec = os.path.join(recdir, "%d.jsonl" % victim.pid)
    _, last = recording(rec)
    assert last["final"] and last["alloc_frames"] == 2
    c = [c for c in last["caches"] if c["qualname"] == "Order.handle"][0]
    got = {("unknown" if s.get("unknown") else "%s:%d" % (s["file"], s["line"])): s["count"]
           for s in c["alloc_sites"]}
    assert got == truth["sites"]["Order.handle"]
    assert got["unknown"] == 30
    page = os.path.join(tmp, "page.html")
    p = subprocess.run([CLI, "report", rec, "--html", page], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    assert "traced (tracemalloc, 2 frames)" in dom.text()
    assert cache_block(dom, "Order.handle").find_all("table", "sites")


def test_tests_that_leaked_worst_first(tmp_path):
    """A pytest run: the page lists the tests that leaked, worst first, with
    the counts the suite's own truth gives (tests/scenarios/pytest-suite:
    test_leak[n] leaves 2n+1 Leaky objects; warm-ups and allow-listed caches
    are not blamed)."""
    if subprocess.run([PYTHON, "-c", "import pytest"], capture_output=True).returncode != 0:
        pytest.skip("no pytest in %s" % PYTHON)
    tmp = str(tmp_path)
    page, truth_path = os.path.join(tmp, "page.html"), os.path.join(tmp, "suite-truth.jsonl")
    env = dict(os.environ, SUITE_TRUTH=truth_path)
    suite = os.path.join(TARGETS, "pytest-suite")
    p = subprocess.run([CLI, "run", "--output", os.path.join(tmp, "rec.jsonl"), "--html", page,
                        "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(suite, "test_suite.py")],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(truth_path, encoding="utf-8") as f:
        truth = [json.loads(line) for line in f]
    want = sorted(((t["pinned"]["Leaky.compute"], t["nodeid"]) for t in truth
                   if t["pinned"].get("Leaky.compute", 0) > 0), key=lambda x: -x[0])
    assert [n for n, _ in want] == [7, 5, 3]
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    table = dom.find_all("table", "tests")[0]
    rows = [tr.find_all("td") for tr in table.find_all("tr") if tr.find_all("td")]
    got = [(int(r[0].text()), r[1].text()) for r in rows]
    assert got == want
    assert all("Leaky.compute" in r[4].text() for r in rows)


def _netlog_page_requests(netlog, page_url):
    """URL requests the page started: browser-initiated ones (updates,
    accounts) have the initiator "not an origin"; the page's own load is
    its file URL."""
    with open(netlog, encoding="utf-8") as f:
        d = json.load(f)
    kinds = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    out = []
    for e in d["events"]:
        p = e.get("params") or {}
        if kinds.get(e["type"]) != "URL_REQUEST_START_JOB" or "url" not in p:
            continue
        if p["url"] == page_url or p.get("initiator") == "not an origin":
            continue
        out.append(p["url"])
    return out


def test_page_makes_no_network_request(tmp_path):
    tmp = str(tmp_path)
    _, page, _, _ = run_victim(tmp, "--steps", "3", "--per", "10", "--sleep", "0.1")
    # The detector works: a page that asks for outside resources is seen.
    control = os.path.join(tmp, "control.html")
    with open(control, "w", encoding="utf-8") as f:
        f.write('<!DOCTYPE html><html><head><link rel="stylesheet" '
                'href="http://127.0.0.1:9/x.css"></head><body>'
                '<img src="http://127.0.0.1:9/x.png"></body></html>')
    netlog = os.path.join(tmp, "control-net.json")
    chromium("file://" + control, tmp, "--dump-dom", "--log-net-log=" + netlog)
    seen = _netlog_page_requests(netlog, "file://" + control)
    assert any("127.0.0.1:9" in u for u in seen), seen

    netlog = os.path.join(tmp, "page-net.json")
    chromium("file://" + page, tmp, "--dump-dom", "--log-net-log=" + netlog)
    assert _netlog_page_requests(netlog, "file://" + page) == []
    with open(page, encoding="utf-8") as f:
        src = f.read()
    assert "<script" not in src
    assert not re.search(r'(?:src|href)\s*=\s*"(?!#)', src)


def _png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, rows, prev = w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def test_screenshot_is_not_blank(tmp_path):
    tmp = str(tmp_path)
    _, page, _, _ = run_victim(tmp, "--steps", "3", "--per", "10", "--sleep", "0.1")
    shot = os.path.join(tmp, "shot.png")
    chromium("file://" + page, tmp, "--screenshot=" + shot, "--window-size=900,1400")
    w, h, bpp, rows = _png_pixels(shot)
    dark = coloured = 0
    for row in rows:
        for i in range(0, w * bpp, bpp):
            r, g, b = row[i], row[i + 1], row[i + 2]
            dark += r + g + b < 300
            coloured += max(r, g, b) - min(r, g, b) > 80  # the plot lines, the verdicts
    assert dark > 2000, dark
    assert coloured > 300, coloured


def test_a_day_of_samples_stays_small(tmp_path):
    """86400 samples at 1 Hz, two caches; one spike at t=43210 for one
    sample. The page stays under 2 MB and the plot keeps the spike."""
    tmp = str(tmp_path)
    rec = os.path.join(tmp, "day.jsonl")
    with open(rec, "w", encoding="utf-8") as f:
        f.write(json.dumps({"type": "process", "pid": 4242, "ppid": 1, "python": "3.11.2",
                            "argv": ["python3", "day.py"], "start": 1.7e9}) + "\n")
        for i in range(86400):
            p = i // 10 + (5000 if i == 43210 else 0)
            caches = [{"qualname": "Day.leak", "module": "day", "file": "/day.py", "line": 3,
                       "kind": "method", "maxsize": None, "entries": p, "selves": p,
                       "pinned": p, "retained_bytes": p * 100, "verdict": "leak"},
                      {"qualname": "Day.bounded", "module": "day", "file": "/day.py",
                       "line": 9, "kind": "method", "maxsize": 64, "entries": 64,
                       "selves": 64, "pinned": 64 - i % 3, "retained_bytes": 6400,
                       "verdict": "bounded"}]
            f.write(json.dumps({"type": "sample", "pid": 4242, "seq": i + 1, "t": i + 0.5,
                                "scan_ms": 1.0, "caches": caches},
                               separators=(",", ":")) + "\n")
    page = os.path.join(tmp, "day.html")
    p = subprocess.run([CLI, "report", rec, "--html", page], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    size = os.path.getsize(page)
    assert size < 2_000_000, size
    dom = parse(chromium("file://" + page, tmp, "--dump-dom"))
    line = cache_block(dom, "Day.leak").find_all("polyline", "pinned")[0]
    ts, vs = floats(line.attrs["data-t"]), floats(line.attrs["data-v"])
    assert int(line.attrs["data-n"]) == 86400
    assert len(vs) <= 2 * 300 + 2
    assert 43210.5 in ts and vs[ts.index(43210.5)] == 43210 // 10 + 5000  # the spike
    assert ts[0] == 0.5 and ts[-1] == 86399.5
    assert vs == sorted(vs) or max(vs) == 43210 // 10 + 5000
    # Every plotted point is a real sample: v = t // 10 (or the spike).
    for t, v in zip(ts, vs):
        i = int(t)
        assert v == i // 10 + (5000 if i == 43210 else 0)
    assert "downsampled" in dom.text()
