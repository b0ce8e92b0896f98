"""Offline corpora: real text that ships inside installed packages.

Nothing is downloaded. The sources are:

- gensim's ``test/test_data`` folder: a shortened English Wikipedia dump
  (about 200 articles, 3 M characters), WordSim353, SimLex-999 and the
  word2vec analogy questions;
- Python's own standard-library sources (a real code corpus).

Processed text is cached under :func:`course_lib.cache.cache_dir` (``$COURSE_CACHE``, else
``$XDG_CACHE_HOME/rnn-course``, else ``~/.cache/rnn-course``). ``cache_dir`` and ``fingerprint``
live in :mod:`course_lib.cache`; they are importable from here too, as before.
"""
from __future__ import annotations

import bz2
import gzip
import json
import re
import sysconfig
from pathlib import Path

from course_lib.cache import cache_dir, cached, fingerprint
from course_lib.data.vocab import split_sentences, tokenize

__all__ = [
    "CorpusUnavailable", "cache_dir", "gensim_test_file", "wiki_sentences", "wordsim353", "simlex999",
    "analogy_questions", "stdlib_code_text", "fingerprint",
]

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


class CorpusUnavailable(RuntimeError):
    """A corpus file or the package that ships it is missing."""


def gensim_test_file(name: str) -> Path:
    """Path of a file in gensim's ``test/test_data`` folder.

    Raises:
        CorpusUnavailable: naming the package or the file that is missing.
    """
    try:
        import gensim
    except ImportError as exc:  # pragma: no cover - gensim is a dependency
        raise CorpusUnavailable(
            "the corpora come from the 'gensim' package, which is not installed: pip install 'gensim>=4.3'"
        ) from exc
    path = Path(gensim.__file__).parent / "test" / "test_data" / name
    if not path.exists():
        raise CorpusUnavailable(
            f"{name} is missing from gensim's test data ({path.parent}); "
            "this gensim build does not ship its test folder -- reinstall gensim from PyPI"
        )
    return path


# --- Wikipedia --------------------------------------------------------------

_SKIP_LINE = re.compile(r"^\s*([=*#:;|!{}]|\[\[|<|thumb\||category:)", re.IGNORECASE)


def _clean_article(text: str) -> list[str]:
    from gensim.corpora.wikicorpus import filter_wiki

    plain = filter_wiki(text)
    plain = plain.replace("'''", "").replace("''", "")
    lines = [ln for ln in plain.split("\n") if ln.strip() and not _SKIP_LINE.match(ln)]
    sentences = []
    for para in lines:
        for s in split_sentences(para):
            s = re.sub(r"\(\s*[,;]?\s*\)", "", s)  # brackets left empty by removed markup
            s = re.sub(r"\s+", " ", s).strip()
            if len(s) >= 20:
                sentences.append(s)
    return sentences


def _read_json_gz(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def _write_json_gz(value: list[str], path: Path) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(value, f)


def _extract_wiki_sentences() -> list[str]:
    from gensim.corpora.wikicorpus import extract_pages

    sentences: list[str] = []
    with bz2.open(gensim_test_file(WIKI_FILE)) as f:
        for _title, text, _pid in extract_pages(f):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            sentences.extend(_clean_article(text))
    return sentences


def _wiki_raw_sentences() -> list[str]:
    gensim_test_file(WIKI_FILE)  # says what is missing, even when the sentences are cached
    return cached("wiki_sentences", None, _extract_wiki_sentences, version=1, suffix=".json.gz",
                  load=_read_json_gz, save=_write_json_gz)


def wiki_sentences(tokenized: bool = True, lower: bool = True, keep_punct: bool = False,
                   min_tokens: int = 3, max_sentences: int | None = None) -> list:
    """Sentences from the Wikipedia extract that ships with gensim (about 20 k sentences).

    Args:
        tokenized: return lists of tokens (default) instead of strings.
        lower, keep_punct: passed to :func:`~course_lib.data.vocab.tokenize`.
        min_tokens: drop sentences with fewer tokens than this.
        max_sentences: keep only the first ones (document order; for quick runs).

    Returns:
        ``list[list[str]]`` (or ``list[str]`` with ``tokenized=False``), always in the same order.
    """
    out: list = []
    for s in _wiki_raw_sentences():
        toks = tokenize(s, lower=lower, keep_punct=keep_punct)
        if len(toks) < min_tokens:
            continue
        out.append(toks if tokenized else s)
        if max_sentences is not None and len(out) >= max_sentences:
            break
    return out


# --- evaluation sets ----------------------------------------------------------

def _read_pairs(name: str) -> list[tuple[str, str, float]]:
    rows = []
    with open(gensim_test_file(name), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            a, b, score = line.rstrip("\n").split("\t")[:3]
            rows.append((a.lower(), b.lower(), float(score)))
    return rows


def wordsim353() -> list[tuple[str, str, float]]:
    """WordSim353: ``(word1, word2, human score 0-10)`` for 353 pairs (lower-cased)."""
    return _read_pairs("wordsim353.tsv")


def simlex999() -> list[tuple[str, str, float]]:
    """SimLex-999: ``(word1, word2, human score 0-10)`` for 999 pairs (lower-cased)."""
    return _read_pairs("simlex999.txt")


def analogy_questions() -> dict[str, list[tuple[str, str, str, str]]]:
    """The word2vec analogy questions, ``a : b :: c : d``, by section (lower-cased).

    Returns:
        ``{"capital-common-countries": [("athens", "greece", "baghdad", "iraq"), ...], ...}``
    """
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    with open(gensim_test_file("questions-words.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                current = line[1:].strip()
                sections[current] = []
                continue
            if current is None:
                raise CorpusUnavailable("questions-words.txt does not start with a ': section' line")
            a, b, c, d = line.lower().split()
            sections[current].append((a, b, c, d))
    return sections


# --- code ----------------------------------------------------------------------

def stdlib_code_text(max_chars: int | None = 2_000_000, ascii_only: bool = True) -> str:
    """Source code of Python's standard library, concatenated (a real code corpus).

    Files are taken in sorted path order (tests and ``site-packages`` excluded),
    each preceded by a ``# file: name`` line.

    Args:
        max_chars: stop after about this many characters (None: everything, ~30 MB).
        ascii_only: drop non-ASCII characters, keeping the alphabet small (~100 symbols).
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    if not root.is_dir():
        raise CorpusUnavailable(f"Python's standard-library sources were not found at {root}")
    files = sorted(p for p in root.rglob("*.py")
                   if "site-packages" not in p.parts and "test" not in p.parts and "tests" not in p.parts
                   and "idle_test" not in p.parts)
    if not files:
        raise CorpusUnavailable(f"no .py files under {root}: this Python was installed without its sources")
    chunks: list[str] = []
    total = 0
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if ascii_only:
            text = text.encode("ascii", "ignore").decode("ascii")
        text = text.replace("\t", "    ")
        chunk = f"# file: {p.relative_to(root).as_posix()}\n{text}\n"
        chunks.append(chunk)
        total += len(chunk)
        if max_chars is not None and total >= max_chars:
            break
    text = "".join(chunks)
    return text[:max_chars] if max_chars is not None else text

