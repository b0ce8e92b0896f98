"""Sphinx configuration of the course book (used by tools/site/build.py on its staging folder).

Sphinx + myst-nb + sphinx-book-theme, all Python packages: nothing is downloaded at build time
(the node-based MyST CLI, jupyter-book 2, fetches its theme templates instead), and nothing is
loaded from the internet by the pages: MathJax 3 comes from the ``sphinx-mathjax-offline`` package
and is copied into ``_static/mathjax``; myst-nb's ipywidgets scripts (a CDN) are switched off.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

project = "Recurrent networks for language"
author = "the RNN course kit authors"
copyright = "the RNN course kit authors, MIT licence"
html_title = "RNNs for language: the course book"

extensions = ["myst_nb", "sphinx.ext.mathjax"]
exclude_patterns = ["downloads/**", "**/.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# notebooks come executed from tools/site/build.py (through the test-suite's execution cache)
nb_execution_mode = "off"
nb_merge_streams = True
nb_output_stderr = "show"
nb_ipywidgets_js: dict = {}  # its default loads require.js and the widget manager from a CDN

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,  # each page links its committed notebook instead (see build.py)
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None

# MathJax from the build folder (the mathjax_path is relative to _static)
mathjax_path = "mathjax/tex-chtml.js"
# what tex-chtml.js loads: TeX extensions (autoload), CHTML fonts, the menu, the accessibility parts
# and the English speech rules they use (the other languages' rules would add 3.5 MB)
MATHJAX_PARTS = ("tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y",
                 "sre/mathmaps/base.json", "sre/mathmaps/en.json", "sre/mathmaps/nemeth.json")


def _mathjax_source() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("the book needs the package sphinx-mathjax-offline (pip install -e '.[site]')")
    return Path(spec.origin).parent / "static" / "mathjax"


def _copy_mathjax(app, exc) -> None:
    if exc is not None:
        return
    src, dest = _mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part, dirs_exist_ok=True)
        elif (src / part).exists():
            dest.joinpath(part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / part, dest / part)


def setup(app) -> None:
    _mathjax_source()  # fail early, with the package's name, when it is missing
    app.connect("build-finished", _copy_mathjax)
