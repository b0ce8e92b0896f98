"""The class-weighted loss and the tagging recipe shared by lectures 5 and 7."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.masks import lengths_to_mask
from course_lib.models.losses import balanced_class_weight, masked_cross_entropy
from course_lib.recipes.tagging import items_class_weight, n_params, tagger_scores, tagging_loader, train_tagger


def test_class_weight_scales_each_token_and_divides_by_real_tokens():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 3, 2), torch.tensor([[0, 1, 0], [1, 0, 1]])
    mask = lengths_to_mask(torch.tensor([3, 2]))
    w = torch.tensor([1.0, 4.0])
    per = F.cross_entropy(logits[mask], targets[mask], reduction="none")
    expected = (per * w[targets[mask]]).sum() / mask.sum()
    torch.testing.assert_close(masked_cross_entropy(logits, targets, mask, class_weight=w), expected)
    # all-ones weights change nothing; padding (even NaN) never enters
    logits[1, 2] = float("nan")
    torch.testing.assert_close(masked_cross_entropy(logits, targets, mask, class_weight=torch.ones(2)),
                               masked_cross_entropy(logits, targets, mask))
    with pytest.raises(ValueError, match="class_weight must be 2"):
        masked_cross_entropy(logits, targets, mask, class_weight=torch.ones(3))


def test_balanced_class_weight():
    labels = torch.tensor([0] * 16 + [1] * 4)
    assert balanced_class_weight(labels, 2).tolist() == [1.0, 4.0]
    assert balanced_class_weight(labels, 2, power=0.5).tolist() == [1.0, 2.0]
    assert balanced_class_weight(labels, 2, power=0.0).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="at least one label"):
        balanced_class_weight(torch.zeros(5, dtype=torch.long), 2)
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        balanced_class_weight(torch.tensor([0, 2]), 2)
    with pytest.raises(TypeError):
        balanced_class_weight(torch.tensor([0.0, 1.0]), 2)
    assert items_class_weight([(["a", "b", "c"], [0, 0, 1]), (["d"], [0])], power=1.0).tolist() == [1.0, 3.0]


def _toy_items(n: int = 60) -> list[tuple[list[str], list[int]]]:
    """Sentences 'w w ... end' run together: the tag is 1 exactly on the word 'end'."""
    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(n):
        toks = [("end" if torch.rand((), generator=g) < 0.2 else f"w{int(torch.randint(5, (), generator=g))}")
                for _ in range(int(torch.randint(4, 9, (), generator=g)))]
        items.append((toks, [int(t == "end") for t in toks]))
    return items


def test_tagging_loader_batches_with_masks():
    items = _toy_items(10)
    batches = list(tagging_loader(items, encode=lambda toks: [len(w) for w in toks], batch_size=4))
    assert sum(int(b["mask"].sum()) for b in batches) == sum(len(t) for t, _ in items)
    assert all(b["labels"].shape == b["tokens"].shape == b["mask"].shape for b in batches)


def test_train_tagger_learns_caches_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    items = _toy_items()
    run = train_tagger(items, bidirectional=True, hidden_size=8, embed_size=8, steps=60, min_count=1)
    assert not run.loaded_from_cache and run.history.steps_done == 60
    assert run.n_params == n_params(run.model)
    assert run.scores(items)["f1"] > 0.9          # the word itself gives the tag away
    again = train_tagger(items, bidirectional=True, hidden_size=8, embed_size=8, steps=60, min_count=1)
    assert again.loaded_from_cache and again.history.steps_done == 60
    for a, b in zip(run.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    other = train_tagger(items, bidirectional=True, hidden_size=8, embed_size=8, steps=60, min_count=1, seed=1)
    assert not other.loaded_from_cache              # every setting is part of the cache key
    assert tagger_scores(again.model, items, again.vocab.encode) == run.scores(items)
