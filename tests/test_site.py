"""The course as a book (``python3 kit.py site``, tools/site/build.py), built once per test run.

1. The build, in FAST mode, as a fresh clone runs it (its lecture executions come from nbrun's cache,
   shared with tests/test_lectures.py, so a CI run executes each lecture once): every lecture has a
   page with all its figures (files that exist and are not empty), no error output, no traceback; no
   file of the build holds an nbgrader marker or any line of a solution / hidden-test region of
   ``assignments/source/``; no page loads anything from outside the build.
2. In a real browser (Debian's Chromium driven by Playwright, as tests/test_browser.py; everything but
   localhost blocked) with the book served on 127.0.0.1: the index lists the lectures in order, two
   lectures show their images (``naturalWidth > 0``) and typeset math, the search box finds a word of
   lecture 6, and the download link hands over the notebook as committed. Screenshots go to
   ``$COURSE_ARTIFACTS`` (default: a temporary folder, printed).
"""
from __future__ import annotations

import collections
import html.parser
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nbrun import FileLock
from test_browser import _ensure_browser, _free_port, local_only

# the book is built once per run (see ``book``); session-scoped fixtures, so running other modules'
# tests in between (pytest-xdist does) does not tear them down
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("site")]
REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_build", REPO / "tools" / "site" / "build.py")
site_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_build)
LECTURES = site_build.lecture_paths()
RELEASED = site_build.released_assignments()
SOURCES = sorted((REPO / "assignments" / "source").glob("*/*.ipynb"))
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def _build(out: Path) -> str:
    """Build the book into ``out``; the build's log, or raise with what went wrong."""
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "site" / "build.py"), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    log = "\n".join(ln for ln in proc.stdout.splitlines() if ln.startswith("[site]"))
    log += f"\n(build took {time.time() - t0:.0f} s)"
    if proc.returncode != 0:
        raise RuntimeError(f"the build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    warnings = (out / "sphinx-warnings.txt").read_text()
    if warnings.strip():
        raise RuntimeError(f"Sphinx warned (a page renders wrongly):\n{warnings[-4000:]}")
    return log


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    """The build folder (``html/``, ``src/``, ``doctrees/``) of one FAST-mode build per test run.

    pytest-xdist's workers share it: the first to get here builds it under a lock, the others read
    its outcome (the grouping by ``xdist_group`` cannot be relied on: pytest-xdist 3.8 does not apply
    it under pytest 9).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    out, done, failed = root / "book", root / "book.log", root / "book.failed"
    lock = FileLock(root / "book.lock")
    lock.acquire(wait=True)
    try:
        if not done.exists() and not failed.exists():
            try:
                done.write_text(_build(out) + "\n")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failed.write_text(str(e))
    finally:
        lock.release()
    if failed.exists():
        pytest.fail(failed.read_text(), pytrace=False)
    print(done.read_text())
    return out


# ---------------------------------------------------------------- the build's content

class _Text(html.parser.HTMLParser):
    """The text of an HTML page (entities decoded, inline scripts included) and its tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.parts.append(data)


def _page(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _readable(path: Path) -> str | None:
    """What a file says as text (pages: their text; notebooks: every string in them); None if binary."""
    if path.suffix == ".html":
        return "".join(_page(path).parts)
    if path.suffix in (".ipynb", ".json"):
        return "\n".join(_strings(json.loads(path.read_text(encoding="utf-8"))))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def _squash(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _title(nb_path: Path) -> str:
    return site_build.first_heading(nbformat.read(nb_path, as_version=4), nb_path.stem)


def _figures(nb: nbformat.NotebookNode) -> int:
    return sum(any(m in out.get("data", {}) for m in IMAGE_MIMES)
               for c in nb.cells if c.cell_type == "code" for out in c.outputs)


def test_every_lecture_has_its_page_figures_and_no_errors(book):
    assert LECTURES
    html = book / "html"
    for nb_path in LECTURES:
        page = html / "lectures" / f"{nb_path.stem}.html"
        assert page.exists(), f"no page for {nb_path.name}"
        executed = nbformat.read(book / "src" / "lectures" / nb_path.name, as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{nb_path.name}: error outputs in the book"
        parsed = _page(page)
        text = "".join(parsed.parts)
        assert "Traceback (most recent call last)" not in text, f"{page.name} shows a traceback"
        classes = [a.get("class", "") for _, a in parsed.tags]
        assert not [c for c in classes if re.search(r"\b(traceback|error)\b", c) and "output" in c], page.name
        imgs = [a["src"] for t, a in parsed.tags if t == "img" and "_images/" in a.get("src", "")]
        assert len(imgs) == _figures(executed), f"{page.name}: {len(imgs)} images for {_figures(executed)} figures"
        for src in imgs:
            f = (page.parent / src).resolve()
            assert f.is_file() and f.stat().st_size > 0, f"{page.name}: image {src} is missing or empty"
        print(f"{nb_path.stem}: {len(imgs)} figures")


def test_index_and_assignment_pages(book):
    html = book / "html"
    index = "".join(_page(html / "index.html").parts)
    for nb_path in LECTURES:
        assert _title(nb_path).split("—")[-1].strip() in index, f"the index does not list {nb_path.name}"
    released = [p.stem for p in RELEASED]
    assert released and sorted(p.stem for p in (html / "assignments").glob("*.html")) == released
    assert "course check" in "".join(_page(html / "grading.html").parts)
    for name in released:
        assert "course check" in "".join(_page(html / "assignments" / f"{name}.html").parts)


def _solution_lines() -> tuple[list[str], list[str]]:
    """(code lines, markdown lines) of the solution and hidden-test regions of assignments/source/,
    less those that are public anyway (the same line in a lecture, a release or course_lib)."""
    code, prose = set(), set()
    for path in SOURCES:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                prose.update(ln for ln in cell.source.splitlines() if len(_words(ln).split()) >= 5)
                continue
            inside = False
            for ln in cell.source.splitlines():
                if re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", ln):
                    inside = "BEGIN" in ln
                elif inside and len(_squash(ln)) >= 12:
                    code.add(_squash(ln))
    public = [*LECTURES, *RELEASED]
    public_text = "\n".join(_readable(p) or "" for p in public)
    public_text += "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "course_lib").rglob("*.py"))
    squashed, words = _squash(public_text), _words(public_text)
    return sorted(c for c in code if c not in squashed), sorted(p for p in prose if _words(p) not in words)


def test_no_solutions_or_hidden_tests_in_the_book(book):
    code, prose = _solution_lines()
    assert SOURCES and code and prose, "expected solution regions in assignments/source/"
    leaks, checked = [], 0
    for f in sorted(p for p in book.rglob("*") if p.is_file()):
        raw = f.read_bytes()
        leaks += [f"{f.relative_to(book)}: {m!r}" for m in MARKERS if m.encode() in raw]
        text = _readable(f)
        if text is None:
            continue
        checked += 1
        squashed, words = _squash(text), _words(text)
        leaks += [f"{f.relative_to(book)}: solution line {ln!r}" for ln in code if ln in squashed]
        leaks += [f"{f.relative_to(book)}: model answer {ln[:60]!r}" for ln in prose if _words(ln) in words]
    print(f"{len(code)} solution code lines and {len(prose)} model-answer lines looked for in {checked} files")
    assert not leaks, "\n".join(leaks[:20])


def test_pages_load_nothing_from_outside(book):
    remote = re.compile(r"^(https?:)?//")
    found = []
    for page in (book / "html").rglob("*.html"):
        for tag, a in _page(page).tags:
            url = a.get("src") if tag in ("script", "img", "iframe") else (
                a.get("href") if tag == "link" and a.get("rel") in ("stylesheet", "preload", "modulepreload") else None)
            if url and remote.match(url):
                found.append(f"{page.name}: <{tag}> {url}")
    for css in (book / "html").rglob("*.css"):
        found += [f"{css.name}: {u}" for u in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text())]
    assert not found, "\n".join(found[:20])


# ---------------------------------------------------------------- in the browser

@pytest.fixture(scope="session")
def served(book):
    """The book on a static server on 127.0.0.1: its base URL."""
    _ensure_browser()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(book / "html")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(base + "index.html", timeout=5)
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, "the static server did not start"
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("COURSE_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"book screenshots in {d}")
    return d


@pytest.fixture(scope="session")
def site_page(served, chromium_browser):
    """A Chromium page that may fetch only from localhost and files (and the list of what it tried elsewhere)."""
    ctx = chromium_browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    blocked = local_only(ctx)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    yield page, blocked
    ctx.close()


def _show_lecture(page, served: str, nb_path: Path, shots: Path, tag: str = "") -> dict:
    """Open a lecture page, let MathJax finish and every image load; screenshot it; what it shows."""
    page.goto(f"{served}lectures/{nb_path.stem}.html")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    page.screenshot(path=str(shots / f"{nb_path.stem}{tag}_top.png"))
    # scroll through the page, so nothing waits for its turn to load
    page.evaluate("async () => { for (let y = 0; y < document.body.scrollHeight; y += 700) "
                  "{ window.scrollTo(0, y); await new Promise(r => setTimeout(r, 30)); } }")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    state = page.evaluate("""() => ({
        images: Array.from(document.querySelectorAll('main img')).map(i => [i.getAttribute('src'), i.naturalWidth]),
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        mathErrors: document.querySelectorAll('mjx-merror').length,
        rawTex: Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container'))
                     .map(e => e.textContent).slice(0, 3),
    })""")
    figs = page.locator("main img")
    if figs.count():
        figs.first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / f"{nb_path.stem}{tag}_figure.png"))
    return state


def _lecture(prefix: str) -> Path:
    found = [p for p in LECTURES if p.name.startswith(prefix)]
    if not found:
        pytest.skip(f"no lecture {prefix}*")
    return found[0]


def test_browser_index_lists_the_lectures(site_page, served, shots):
    page, blocked = site_page
    page.goto(served + "index.html")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "index.png"))
    sidebar = [t.strip() for t in page.locator(".bd-sidebar-primary nav.bd-links a").all_inner_texts()]
    titles = [_title(p) for p in LECTURES]
    assert [t for t in sidebar if t in titles] == titles, f"sidebar: {sidebar}"
    assert any(t.startswith("Assignment") for t in sidebar) and "Grade your own work" in sidebar, sidebar
    assert not blocked, f"the index asked for outside resources: {blocked[:5]}"


@pytest.mark.parametrize("prefix", ["01_", "06_"])
def test_browser_lecture_images_and_math(site_page, served, shots, book, prefix):
    page, blocked = site_page
    nb_path = _lecture(prefix)
    state = _show_lecture(page, served, nb_path, shots)
    executed = nbformat.read(book / "src" / "lectures" / nb_path.name, as_version=4)  # what the page shows
    print(nb_path.stem, f"{len(state['images'])} images, {state['typeset']}/{state['math']} formulas typeset")
    assert len(state["images"]) == _figures(executed) > 0, state["images"]
    assert all(w > 0 for _, w in state["images"]), f"images that did not load: {state['images']}"
    assert state["math"] > 0 and state["typeset"] == state["math"], f"math left as TeX: {state['rawTex']}"
    assert state["mathErrors"] == 0
    assert not blocked, f"{nb_path.stem} asked for outside resources: {blocked[:5]}"


def test_browser_from_disk(site_page, book, shots):
    """Opened as files (file://, no server), a lecture still shows its images and math, and search works."""
    page, _ = site_page
    base = (book / "html").as_uri() + "/"
    state = _show_lecture(page, base, _lecture("03_"), shots, tag="_file")
    assert state["images"] and all(w > 0 for _, w in state["images"]), state["images"]
    assert state["math"] > 0 and state["typeset"] == state["math"], state["rawTex"]
    nb_path = _lecture("06_")
    hits = _search(page, base, _word_only_in(nb_path), shots / "search_file.png")
    assert any(f"lectures/{nb_path.stem}.html" in h for h in hits), hits


def _search(page, base: str, word: str, shot: Path) -> list[str]:
    """Type ``word`` into the sidebar's search box, press Enter; the links of the results."""
    page.goto(base + "index.html")
    page.locator(".bd-sidebar-primary .search-button-field").first.click()
    box = page.locator("#pst-search-dialog input[name=q]")
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    page.wait_for_function("() => document.querySelectorAll('#search-results li a').length > 0")
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot))
    return page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")


def test_browser_search_finds_a_word_of_lecture_6(site_page, served, shots):
    page, blocked = site_page
    nb_path = _lecture("06_")
    word = _word_only_in(nb_path)
    hits = _search(page, served, word, shots / "search.png")
    print(f"search for {word!r}: {hits[:5]}")
    assert any(f"lectures/{nb_path.stem}.html" in h for h in hits), hits
    assert not blocked, f"search asked for outside resources: {blocked[:5]}"


def _word_only_in(nb_path: Path) -> str:
    """The most frequent long word of ``nb_path``'s text cells that no other notebook of the book has."""
    def words(p: Path) -> collections.Counter:
        nb = nbformat.read(p, as_version=4)
        text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
        return collections.Counter(re.findall(r"\b[a-z]{7,}\b", text.lower()))
    mine = words(nb_path)
    others = set()
    for p in [*LECTURES, *RELEASED]:
        if p != nb_path:
            others |= set(words(p))
    unique = [(n, w) for w, n in mine.items() if w not in others]
    assert unique, f"{nb_path.name} has no word of its own"
    return max(unique)[1]


def test_browser_download_link_serves_the_notebook(site_page, served, shots):
    page, _ = site_page
    nb_path = _lecture("06_")
    page.goto(f"{served}lectures/{nb_path.stem}.html")
    link = page.locator(f"a.download[href$='{nb_path.name}']").first
    with page.expect_download() as info:
        link.click()
    got = Path(info.value.path()).read_bytes()
    assert info.value.suggested_filename == nb_path.name
    assert got == nb_path.read_bytes(), "the download is not the notebook as committed"
    nb = nbformat.reads(got.decode(), as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
