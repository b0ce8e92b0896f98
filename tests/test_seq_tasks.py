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
    together = model(batch["tokens"], batch["mask"])
    for i, (toks, _) in enumerate(ITEMS):
        alone = model(torch.tensor([toks]), torch.ones(1, len(toks), dtype=torch.bool))
        torch.testing.assert_close(together[i], alone[0], atol=1e-6, rtol=1e-5)


def test_tagger_batch_equals_one_at_a_time_and_loss_ignores_padding():
    torch.manual_seed(1)
    model = RNNTagger(12, 4, 6).eval()
    items = [([5, 6, 7], [0, 1, 0]), ([9], [1])]
    batch = make_collate(label_pad=-100)(items)
    logits = model(batch["tokens"], batch["mask"])
    assert logits.shape == (2, 3, 2)
    alone = model(torch.tensor([[9]]), torch.tensor([[True]]))
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
    torch.testing.assert_close(model(a["tokens"], a["mask"]), model(b["tokens"], b["mask"]))
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
        model(torch.tensor([[5, 0]]), torch.tensor([[False, False]]))


def test_one_forward_signature_tokens_and_mask():
    """Every sequence model takes (tokens, mask); passing the lengths instead says what is expected."""
    from course_lib.models.deep import SequenceTagger

    batch = make_collate()(ITEMS)
    for model in (RNNClassifier(12, 4, 6), RNNTagger(12, 4, 6), BagOfEmbeddings(12, 4),
                  SequenceTagger(12, embed_size=4, hidden_size=6)):
        model(batch["tokens"], batch["mask"])
        with pytest.raises(TypeError, match="mask must be a bool tensor"):
            model(batch["tokens"], batch["lengths"])


def test_one_f1_for_the_course():
    """F1 = 2 TP / (2 TP + FP + FN): exactly what lectures 5 and 7 computed by hand before."""
    g = torch.Generator().manual_seed(0)
    pred, true = torch.randint(0, 2, (500,), generator=g), torch.randint(0, 2, (500,), generator=g)
    s = binary_scores(pred, true)
    tp = int(((pred == 1) & (true == 1)).sum())
    assert s["f1"] == 2 * tp / max(1, int((pred == 1).sum()) + int((true == 1).sum()))
    assert s["f1"] == pytest.approx(2 * s["precision"] * s["recall"] / (s["precision"] + s["recall"]), rel=1e-12)
    assert s["accuracy"] == int((pred == true).sum()) / 500
    with pytest.raises(ValueError, match="same shape"):
        binary_scores(pred, true[:3])
