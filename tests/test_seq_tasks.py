"""Classifier / tagger / baseline models over padded batches."""
from __future__ import annotations

import pytest
import torch

from course_lib.data.batching import make_collate
from course_lib.models.seq_tasks import (
    BagOfEmbeddings, RNNClassifier, RNNTagger, binary_scores, classification_loss, predict, tagging_loss,
)

ITEMS = [([5, 6, 7, 8], 1), ([9], 0), ([4, 4, 6], 1)]


def test_classifier_batch_equals_one_at_a_time():
    torch.manual_seed(0)
    model = RNNClassifier(12, 4, 6).eval()
    batch = make_collate()(ITEMS)
    together = model(batch["tokens"], batch["lengths"])
    for i, (toks, _) in enumerate(ITEMS):
        alone = model(torch.tensor([toks]), torch.tensor([len(toks)]))
        torch.testing.assert_close(together[i], alone[0], atol=1e-6, rtol=1e-5)


def test_tagger_batch_equals_one_at_a_time_and_loss_ignores_padding():
    torch.manual_seed(1)
    model = RNNTagger(12, 4, 6).eval()
    items = [([5, 6, 7], [0, 1, 0]), ([9], [1])]
    batch = make_collate(label_pad=-100)(items)
    logits = model(batch["tokens"], batch["lengths"])
    assert logits.shape == (2, 3, 2)
    alone = model(torch.tensor([[9]]), torch.tensor([1]))
    torch.testing.assert_close(logits[1, :1], alone[0], atol=1e-6, rtol=1e-5)
    loss, n = tagging_loss(model, batch)
    flat = torch.cat([logits[0], logits[1, :1]])
    expected = torch.nn.functional.cross_entropy(flat, torch.tensor([0, 1, 0, 1]))
    assert n == 4 and loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_bag_of_embeddings_is_order_blind():
    torch.manual_seed(2)
    model = BagOfEmbeddings(12, 5)
    a = make_collate()([([5, 6, 7, 8], 0), ([9], 0)])
    b = make_collate()([([8, 6, 5, 7], 0), ([9], 0)])
    torch.testing.assert_close(model(a["tokens"], a["lengths"]), model(b["tokens"], b["lengths"]))
    loss, n = classification_loss(model, a)
    assert n == 2 and loss.item() > 0


def test_predict_and_scores():
    torch.manual_seed(3)
    model = RNNClassifier(12, 4, 6)
    loader = [make_collate()(ITEMS)]
    pred, true = predict(model, loader)
    assert pred.shape == (3,) and true.tolist() == [1, 0, 1]
    s = binary_scores(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 1, 0]))
    assert s == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert binary_scores(torch.tensor([0, 0]), torch.tensor([1, 0]))["f1"] == 0.0


def test_empty_sequence_is_a_clear_error():
    model = RNNClassifier(12, 4, 6)
    with pytest.raises(ValueError, match="at least one token"):
        model(torch.tensor([[5, 0]]), torch.tensor([0]))
