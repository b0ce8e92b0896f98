"""course_lib.cache: file names by the cache-version rule, load-or-build, atomic writes."""
import hashlib
import json

import pytest
import torch

from course_lib import cache
from course_lib.cache import atomic_save, atomic_write, cache_file, cached, fingerprint


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))


def test_names_are_the_ones_caches_were_built_with():
    # the names before course_lib.cache existed: sha1 of the sorted JSON of the settings plus "v"
    settings = {"window": 5, "min_count": 5, "dim": 100, "max_sentences": None, "alpha": 0.75}
    old_key = hashlib.sha1(json.dumps({**settings, "v": 1}, sort_keys=True).encode()).hexdigest()[:12]
    assert cache_file("ppmi_svd", settings, 1).name == f"ppmi_svd_{old_key}.pt"
    assert fingerprint({**settings, "v": 1}) == old_key
    assert cache_file("wiki_sentences", None, 1, ".json.gz").name == "wiki_sentences_v1.json.gz"
    assert cache_file("x", {"a": 1}, 2) != cache_file("x", {"a": 1}, 1), "a new version is a new file"
    with pytest.raises(ValueError, match="'v'"):
        cache_file("x", {"v": 1}, 1)
    with pytest.raises(ValueError, match="positive int"):
        cache_file("x", None, 0)


def test_old_homes_are_the_same_functions():
    from course_lib.data import cache_dir as data_cache_dir
    from course_lib.data.corpora import cache_dir as corpora_cache_dir, fingerprint as corpora_fingerprint

    assert data_cache_dir is corpora_cache_dir is cache.cache_dir
    assert corpora_fingerprint is fingerprint


def test_cached_builds_once_then_loads():
    calls = []

    def build():
        calls.append(1)
        return {"w": torch.arange(3.0)}

    first = cached("thing", {"n": 3}, build, version=1)
    second = cached("thing", {"n": 3}, build, version=1)
    assert calls == [1]
    assert torch.equal(first["w"], second["w"])
    cached("thing", {"n": 3}, build, version=1, read=False)       # rebuild on request
    cached("thing", {"n": 4}, build, version=1, write=False)      # other settings: not on disk
    cached("thing", {"n": 4}, build, version=1)
    assert calls == [1, 1, 1, 1]


def test_damaged_file_is_rebuilt(capsys):
    path = cache_file("thing", {"n": 1}, 1)
    path.write_bytes(b"not a torch file")
    out = cached("thing", {"n": 1}, lambda: torch.ones(2), version=1)
    assert torch.equal(out, torch.ones(2))
    assert "could not read" in capsys.readouterr().out
    assert torch.equal(torch.load(path), torch.ones(2))


def test_custom_format_round_trip():
    def save(value, p):
        p.write_text(json.dumps(value))

    def load(p):
        return json.loads(p.read_text())

    assert cached("j", None, lambda: [1, 2], version=3, suffix=".json", load=load, save=save) == [1, 2]
    assert cached("j", None, lambda: [9], version=3, suffix=".json", load=load, save=save) == [1, 2]
    assert cache_file("j", None, 3, ".json").read_text() == "[1, 2]"


def test_atomic_write_leaves_no_half_file(tmp_path):
    target = tmp_path / "sub" / "f.pt"
    atomic_save({"a": torch.zeros(1)}, target)
    assert torch.equal(torch.load(target)["a"], torch.zeros(1))

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert torch.equal(torch.load(target)["a"], torch.zeros(1)), "the old file is untouched"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.pt"], "no temporary file is left"
