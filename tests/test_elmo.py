"""Tests of course_lib.models.elmo: char-CNN, biLM (no leakage), ScalarMix, similarity, cache."""
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.models.elmo import (
    BOW, EOW, BiLM, BiLMConfig, CharCNN, ScalarMix, context_parts, cosine_matrix, encode_chars, layer_representations,
    load_bilm, lm_chunks, nearest_tokens, pretrained_bilm, reverse_padded, save_bilm, sense_sentences,
    token_vectors, within_across_similarity,
)

SMALL = BiLMConfig(vocab_size=30, dim=8, char_dim=4, filters=((1, 3), (2, 4), (3, 5)), max_chars=8, dropout=0.0)


def small_bilm(seed=0):
    torch.manual_seed(seed)
    return BiLM(SMALL).eval()


def test_encode_chars_ids_and_padding():
    chars, mask = encode_chars([["ab", "c"], ["abcdefghij"]], max_chars=6)
    assert chars.shape == (2, 2, 6) and mask.tolist() == [[True, True], [True, False]]
    assert chars[0, 0].tolist() == [BOW, 3 + ord("a"), 3 + ord("b"), EOW, 0, 0]
    assert chars[1, 0].tolist() == [BOW] + [3 + ord(c) for c in "abcd"] + [EOW]  # truncated
    assert chars[1, 1].tolist() == [0] * 6
    with pytest.raises(TypeError, match="tokenised"):
        encode_chars(["a sentence"])
    with pytest.raises(ValueError, match="empty"):
        encode_chars([["a"], []])


def test_charcnn_shapes_and_masked_padding():
    torch.manual_seed(0)
    enc = CharCNN(out_dim=7, char_dim=4, filters=((1, 3), (4, 5)), highway=True).eval()
    c8, _ = encode_chars([["cat", "dog", "a"]], max_chars=8)
    c20, _ = encode_chars([["cat", "dog", "a"]], max_chars=20)
    assert enc(c8).shape == (1, 3, 7)
    assert enc.pooled_features(c8).shape == (1, 3, 8)
    # padded characters are masked out: extra padding changes nothing
    torch.testing.assert_close(enc(c8), enc(c20), atol=1e-6, rtol=0)
    # reference for one word: convolve its real characters (plus k-1 zero columns), max over starts
    word = c8[0, 0, :5]                               # <bow> c a t <eow>
    e = enc.embed(word).T.unsqueeze(0)                # (1, char_dim, 5)
    ref = []
    for (k, _), conv in zip(enc.filters, enc.convs):
        ref.append(conv(F.pad(e, (0, k - 1))).max(dim=2).values)
    torch.testing.assert_close(enc.pooled_features(c8)[0, 0], torch.cat(ref, 1)[0], atol=1e-6, rtol=0)
    # a padded window would lower/raise the max if it were not masked: a word of 3 characters and
    # width-4 filters has no full window, yet gets finite features
    assert torch.isfinite(enc.pooled_features(c8)).all()


def test_reverse_padded_is_an_involution():
    x = torch.arange(12.).view(2, 6)
    lengths = torch.tensor([4, 6])
    r = reverse_padded(x.unsqueeze(-1), lengths).squeeze(-1)
    assert r.tolist() == [[3, 2, 1, 0, 4, 5], [11, 10, 9, 8, 7, 6]]
    assert torch.equal(reverse_padded(r.unsqueeze(-1), lengths).squeeze(-1), x)


def test_bilm_shapes_and_layer_representations():
    m = small_bilm()
    chars, mask = encode_chars([["the", "bank", "of", "the", "river"], ["a", "bank"]], SMALL.max_chars)
    out = m(chars, mask)
    assert out.layer0.shape == (2, 5, 8)
    assert [t.shape for t in out.forward + out.backward] == [(2, 5, 8)] * 4
    reps = layer_representations(out)
    assert reps.shape == (3, 2, 5, 16)
    assert torch.equal(reps[0, ..., :8], reps[0, ..., 8:])           # layer 0 duplicated
    assert torch.equal(reps[2, ..., 8:], out.backward[1])


def test_no_leakage_between_directions():
    m = small_bilm()
    a = [["w1", "w2", "w3", "w4", "w5", "w6"]]
    b = [["w1", "w2", "w3", "xx", "w5", "w6"]]     # position 3 changed
    oa, ob = m(*encode_chars(a, 8)), m(*encode_chars(b, 8))
    for j in range(2):
        # forward states before position 3 have not seen it; from 3 on they have
        torch.testing.assert_close(oa.forward[j][:, :3], ob.forward[j][:, :3], atol=0, rtol=0)
        assert (oa.forward[j][:, 3:] - ob.forward[j][:, 3:]).abs().max() > 1e-4
        # backward states after position 3 have not seen it
        torch.testing.assert_close(oa.backward[j][:, 4:], ob.backward[j][:, 4:], atol=0, rtol=0)
        assert (oa.backward[j][:, :4] - ob.backward[j][:, :4]).abs().max() > 1e-4


def test_padded_batch_equals_one_sentence_at_a_time():
    m = small_bilm()
    sents = [["one", "two", "three", "four"], ["five", "six"]]
    both = layer_representations(m(*encode_chars(sents, 8)))
    for i, s in enumerate(sents):
        alone = layer_representations(m(*encode_chars([s], 8)))
        torch.testing.assert_close(both[:, i, : len(s)], alone[:, 0], atol=1e-6, rtol=1e-5)


def test_lm_losses_are_finite_and_near_log_vocab_at_init():
    m = small_bilm()
    chars, mask = encode_chars([["a", "b", "c"], ["d", "e"]], 8)
    targets = torch.tensor([[4, 5, 6], [7, 8, 0]])
    lf, lb, n = m.lm_losses(chars, targets, mask)
    assert n == 3                                    # 2 + 1 predicted words per direction
    assert abs(lf.item() - math.log(30)) < 0.5 and abs(lb.item() - math.log(30)) < 0.5
    with pytest.raises(ValueError, match="prefix"):
        m(chars, torch.tensor([[True, False, True], [True, True, False]]))


def test_scalar_mix_reference_and_gradients():
    mix = ScalarMix(3)
    layers = torch.tensor([[[1., 2.]], [[3., 4.]], [[5., 9.]]])   # (3, 1, 2)
    torch.testing.assert_close(mix(layers), torch.tensor([[3., 5.]]))  # w = 0: plain mean, gamma 1
    with torch.no_grad():
        mix.w.copy_(torch.tensor([0., math.log(2.), math.log(5.)]))   # softmax -> 1/8, 2/8, 5/8
        mix.gamma.fill_(2.)
    expected = 2 * (layers[0] / 8 + 2 * layers[1] / 8 + 5 * layers[2] / 8)
    torch.testing.assert_close(mix(layers), expected)
    torch.testing.assert_close(mix(list(layers)), expected)
    mix(layers).sum().backward()
    assert mix.w.grad.abs().sum() > 0 and mix.gamma.grad is not None
    torch.testing.assert_close(mix.gamma.grad, expected.sum() / 2)
    with pytest.raises(ValueError, match="3 layers"):
        mix(layers[:2])


def test_similarity_helpers():
    a = torch.tensor([[1., 0.], [0., 2.], [1., 1.]])
    sim = cosine_matrix(a)
    torch.testing.assert_close(sim[0, 2], torch.tensor(1 / math.sqrt(2)))
    v = torch.tensor([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]])
    within, across = within_across_similarity(v, ["x", "x", "y", "y"])
    assert within > 0.99 and across < 0.2
    assert nearest_tokens(torch.tensor([1., 0.]), v, k=2, exclude=[0])[0][0] == 1
    with pytest.raises(ValueError, match="two"):
        within_across_similarity(v[:2], ["x", "y"])


def test_sense_sentences_find_the_word():
    sents, pos, senses = sense_sentences("plant", window=5)
    assert len(sents) == len(pos) == len(senses) >= 10 and len(set(senses)) == 2
    assert all(s[p] == "plant" for s, p in zip(sents, pos))


def test_token_vectors_and_chunks():
    m = small_bilm()
    v = token_vectors(m, [["a", "b"], ["c", "d", "e"]], [1, 0])
    assert v.shape == (3, 2, 16)
    assert lm_chunks([["a", "b", "c"], ["d", "e"]], 2) == [["a", "b"], ["c", "d"]]


def test_save_load_round_trip(tmp_path):
    m = small_bilm()
    save_bilm(tmp_path / "m.pt", m, ["<pad>", "x"], {"perplexity": {"forward": 3.0}})
    m2, itos, info = load_bilm(tmp_path / "m.pt")
    chars, mask = encode_chars([["some", "words"]], 8)
    torch.testing.assert_close(layer_representations(m(chars, mask)), layer_representations(m2(chars, mask)))
    assert itos == ["<pad>", "x"] and info["perplexity"]["forward"] == 3.0


def test_pretrained_bilm_trains_once_then_reloads(tmp_path, monkeypatch):
    import course_lib.data

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    words = "the cat sat on a mat and the dog ran to it then they slept".split()
    corpus = [[words[(i * 7 + j) % len(words)] for j in range(5 + i % 4)] for i in range(80)]
    monkeypatch.setattr(course_lib.data, "wiki_sentences", lambda max_sentences=None: corpus[:max_sentences])
    cfg = BiLMConfig(vocab_size=12, dim=8, char_dim=4, filters=((2, 4),), max_chars=8)
    m1, itos, info1 = pretrained_bilm(cfg, n_sentences=80, steps=3, batch_size=8, device="cpu", verbose=False)
    assert not info1["loaded_from_cache"] and len(itos) == 12
    assert set(info1["perplexity"]) == {"forward", "backward"} and info1["perplexity"]["forward"] > 1
    m2, _, info2 = pretrained_bilm(cfg, n_sentences=80, steps=3, batch_size=8, device="cpu", verbose=False)
    assert info2["loaded_from_cache"]
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k
    assert len(list(tmp_path.glob("bilm_*.pt"))) == 1


def test_bilm_learns_a_predictable_language_in_both_directions(tmp_path, monkeypatch):
    """Each sentence walks a fixed cycle of 10 words from a random start, so the next word (forward
    LM) and the previous word (backward LM) are both determined: perplexity must fall far below the
    unigram perplexity (about 10-12 here), in each direction, on held-out sentences."""
    import course_lib.data

    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    cycle = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
    g = torch.Generator().manual_seed(0)
    corpus = []
    for _ in range(400):
        start, n = int(torch.randint(10, (1,), generator=g)), int(torch.randint(6, 12, (1,), generator=g))
        corpus.append([cycle[(start + j) % 10] for j in range(n)])
    monkeypatch.setattr(course_lib.data, "wiki_sentences", lambda max_sentences=None: corpus[:max_sentences])
    cfg = BiLMConfig(vocab_size=14, dim=32, char_dim=8, filters=((2, 16), (3, 16)), max_chars=10, dropout=0.0)
    torch.manual_seed(0)
    _, _, info = pretrained_bilm(cfg, n_sentences=400, steps=150, batch_size=16, chunk_len=20, lr=1e-2,
                                 device="cpu", verbose=False)
    ppl = info["perplexity"]
    # the floor is about 1.6 (a sentence's first word and its length are random); unigram is about 11
    assert ppl["forward"] < 2.5 and ppl["backward"] < 2.5, ppl


def test_context_parts_removes_the_word_average():
    torch.manual_seed(0)
    same = torch.randn(1, 1, 6).expand(1, 5, 6) + 1e-9 * torch.randn(1, 5, 6)   # layer 0: one vector (+ rounding)
    sense = torch.tensor([1.0, 1.0, 0, 0, 0, 0])
    base = torch.randn(6) * 5
    varied = torch.stack([base + sense, base + sense, base + sense.flip(0), base + sense.flip(0),
                          base + sense.flip(0)])[None]                          # a layer with two "senses"
    parts, share = context_parts(torch.cat([same, varied]))
    assert parts.shape == (2, 5, 6)
    assert torch.equal(parts[0], torch.zeros(5, 6)) and share[0] == 0
    torch.testing.assert_close(parts[1].sum(0), torch.zeros(6), atol=1e-5, rtol=0)
    assert 0 < share[1] < 1
    within, across = within_across_similarity(parts[1], ["x", "x", "y", "y", "y"])
    assert within == pytest.approx(1.0, abs=1e-5) and across == pytest.approx(-1.0, abs=1e-5)
    assert within_across_similarity(parts[0], ["x", "x", "y", "y", "y"]) == (0.0, 0.0)
    with pytest.raises(ValueError, match="layers, n >= 2, dim"):
        context_parts(torch.zeros(5, 6))
