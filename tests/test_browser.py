"""The student's path in a real browser: Debian's Chromium driven by Playwright, JupyterLab on localhost.

1. Lecture 1 (a copy with ``FAST = True``): Run All from the menu, wait until every cell has run and the
   kernel is idle, save; the saved notebook has outputs and no error. A screenshot goes to
   ``$COURSE_ARTIFACTS`` (default: a temporary folder; its path is printed).
2. A released assignment: nbgrader's Validate button reports success on a solved copy (the release with
   the source's solutions pasted into its answer cells) and failures on the blank release.

Set-up installs what is missing (``tools/install_browser.sh``: apt's chromium, pip's playwright; never a
browser download). Everything but localhost is blocked in the browser.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from classroom_fixtures import install_or_skip, real_variant
from course_lib.grading import assignment_names

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LECTURE = REPO / "lectures" / "01_word_embeddings.ipynb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(tempfile.gettempdir())  # set by the artifacts fixture
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _ensure_browser() -> None:
    try:
        import playwright  # noqa: F401
        have = Path(CHROMIUM).exists()
    except ImportError:
        have = False
    if have:
        return
    install_or_skip("install_browser.sh", "chromium/playwright")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    global ARTIFACTS
    d = ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"browser artifacts in {d}")
    return d


@pytest.fixture(scope="module")
def lab(tmp_path_factory, artifacts):
    """JupyterLab on 127.0.0.1 with a token, serving a scratch folder: (base_url, token, folder)."""
    _ensure_browser()
    folder = tmp_path_factory.mktemp("lab")
    # same cell time limits as the course's grading (nbgrader's Validate reads this)
    shutil.copyfile(REPO / "assignments" / "nbgrader_config.py", folder / "nbgrader_config.py")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1",
           "COURSE_PROGRESS": "0", "COURSE_LIVE_PLOT": "0"}
    env.pop("MPLBACKEND", None)  # the test-suite's Agg would hide the lecture's inline figures
    log = open(folder / "lab.log", "w")
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={folder}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (folder / "lab.log").read_text()[-3000:])
                time.sleep(1)
        yield base, token, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab, chromium_browser):
    return chromium_browser


def local_only(ctx) -> list[str]:
    """Let the browser context ``ctx`` fetch only from localhost (and data:, blob:, file: URLs); the
    returned list fills with the URLs it tried elsewhere (those requests are aborted)."""
    blocked: list[str] = []

    def route(r):
        host = re.match(r"^[a-z]+://([^/:]+)", r.request.url)
        local = host and host.group(1) in ("127.0.0.1", "localhost")
        if r.request.url.startswith(("data:", "blob:", "file:")) or local:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()
    ctx.route("**/*", route)
    return blocked


@pytest.fixture()
def page(browser, lab):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    blocked = local_only(ctx)
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    print("blocked outside requests:", blocked[:5], f"({len(blocked)})")
    ctx.close()


def _kernels_idle(base: str, token: str) -> bool:
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
        ks = json.load(r)
    return bool(ks) and all(k["execution_state"] == "idle" for k in ks)


def _accept_kernel_dialog(page) -> bool:
    """Answer JupyterLab's "Select Kernel" dialog (it can pop up when a session starts) with its default."""
    dlg = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dlg.count() and dlg.first.is_visible():
        dlg.first.locator(".jp-mod-accept").click()
        return True
    return False


def _wait(page, what: str, js, timeout: float, arg=None) -> None:
    """Poll ``js`` (JavaScript function, or Python ``f(page)``) until true, answering kernel dialogs meanwhile."""
    t0 = time.time()
    while not (js(page) if callable(js) else page.evaluate(js, arg)):
        _accept_kernel_dialog(page)
        if time.time() > t0 + timeout:
            page.screenshot(path=str(ARTIFACTS / "timeout.png"))
            raise TimeoutError(f"waited {timeout:.0f} s for {what}; screenshot {ARTIFACTS / 'timeout.png'}")
        if int(time.time() - t0) % 30 == 0:
            page.screenshot(path=str(ARTIFACTS / "waiting.png"))  # to look at while a slow run goes on
        page.wait_for_timeout(500)


def _open(page, lab, name: str) -> None:
    base, token, _ = lab
    # ?reset: start from an empty workspace, so a notebook opened by an earlier call is not restored
    # in front of (or behind) this one
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    # "attached", not "visible": JupyterLab 4 renders cells in a windowed list whose nodes can be
    # reported hidden while the panel lays out; the current-tab check below is the real wait
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for(state="attached")
    page.wait_for_timeout(3000)  # let the session start (JupyterLab may ask which kernel)
    _wait(page, f"{name} to be the current tab",
          "n => Array.from(document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current "
          ".lm-TabBar-tabLabel')).some(e => e.textContent.trim() === n)", 120, arg=name)
    # the kernel has started when the server says it is idle
    _wait(page, "the kernel to start", lambda _: _kernels_idle(base, token), 180)


def _menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def test_lecture1_run_all_fast(page, lab, artifacts):
    if not LECTURE.exists():
        pytest.skip(f"{LECTURE.relative_to(REPO)} is not written yet")
    base, token, folder = lab
    nb = nbformat.read(LECTURE, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert params and "FAST = False" in params[0].source, "lecture 1 needs a parameters cell with FAST = False"
    params[0].source = params[0].source.replace("FAST = False", "FAST = True")
    nbformat.write(nb, folder / "lecture01.ipynb")

    _open(page, lab, "lecture01.ipynb")
    t0 = time.time()
    _menu(page, "Run", "Run All Cells")
    # done when the kernel is idle and the notebook, saved, has an execution count in every code cell
    # (JupyterLab renders only the cells near the view, a windowed list, so the page cannot tell)
    saved_path = folder / "lecture01.ipynb"

    def finished(page) -> bool:
        if not _kernels_idle(base, token):
            return False
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1500)
        cells = nbformat.read(saved_path, as_version=4).cells
        return all(c.execution_count for c in cells if c.cell_type == "code")

    _wait(page, "every cell to run", finished, 600)
    while not _kernels_idle(base, token):
        time.sleep(0.5)
    secs = time.time() - t0
    saved = nbformat.read(saved_path, as_version=4)
    figures = [i for i, c in enumerate(saved.cells) if c.cell_type == "code"
               and any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert figures, "lecture 1 shows no figure"
    # the screenshot shows the first figure: go up from the last cell in command mode ("k")
    page.keyboard.press("Escape")
    for _ in range(len(saved.cells) - 1 - figures[0]):
        page.keyboard.press("k")
    page.wait_for_timeout(1500)
    shot = artifacts / "lecture01_fast.png"
    page.screenshot(path=str(shot))
    print(f"lecture 1 ran in the browser in {secs:.0f} s; screenshot {shot}")

    dom_errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                              ":text('Traceback')").count()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(saved.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors and not dom_errors, f"error outputs: {errors}"
    assert all(c.execution_count for c in saved.cells if c.cell_type == "code")


def _validate(page, lab, name: str, shot: Path) -> str:
    _open(page, lab, name)
    # the Validate button of the notebook on show (other open notebooks have hidden ones)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent",
                 has_text="Validate").click()
    dialog = page.locator(".jp-Dialog").filter(has_not_text="Select Kernel")
    _wait(page, "the validation result", "() => Array.from(document.querySelectorAll('.jp-Dialog'))"
          ".some(d => !d.textContent.includes('Select Kernel'))", 600)
    text = dialog.inner_text()
    page.screenshot(path=str(shot))
    page.locator(".jp-Dialog .jp-mod-accept, .jp-Dialog button").last.click()
    return text


def test_validate_button(page, lab, artifacts):
    names = [n for n in assignment_names(REPO / "assignments")
             if (REPO / "assignments" / "release" / n).is_dir()]
    if not names:
        pytest.skip("no released assignment yet")
    name = names[0]
    _, _, folder = lab
    nbformat.write(real_variant(name, "solved"), folder / "solved.ipynb")
    blank = sorted((REPO / "assignments" / "release" / name).glob("*.ipynb"))[0]
    shutil.copyfile(blank, folder / "blank.ipynb")

    ok = _validate(page, lab, "solved.ipynb", artifacts / "validate_solved.png")
    assert "Success! Your notebook passes all the tests." in ok, ok[:2000]

    bad = _validate(page, lab, "blank.ipynb", artifacts / "validate_blank.png")
    assert "Success" not in bad and ("The following cell failed" in bad or "NotImplementedError" in bad), bad[:2000]
    print(f"Validate on {name}: solved -> success; blank -> {bad.count('The following cell failed')} failed cell(s)")
