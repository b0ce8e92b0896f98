"""Skip-gram throughput and quality: course_lib's PyTorch implementation vs gensim Word2Vec(sg=1).

Same corpus (the Wikipedia extract), same settings, one thread each. words/s counts the corpus
words that are in the vocabulary (before subsampling) times epochs, over the training wall time,
for both. Run: ``OMP_NUM_THREADS=1 python benchmarks/skipgram.py [--epochs 5] [--dim 100] [--fasttext]``.
Targets: ours >= 0.5x gensim's words/s and WordSim353 >= gensim's - 0.02. ``--fasttext`` adds
course_lib's ``FastTextModel`` and gensim ``FastText`` (n-grams 3-6, ``--buckets`` rows) to the table.
"""
from __future__ import annotations

import argparse
import time

import torch

from course_lib.data import Vocab, wiki_sentences, wordsim353
from course_lib.evaluate import from_keyed_vectors, word_similarity
from course_lib.models.fasttext import FastTextModel
from course_lib.models.skipgram import SkipGram, SkipGramPairs, train_skipgram


def train_gensim(name, g, sents, n_words, epochs):
    """Build the vocabulary of gensim model ``g``, train it (timed) and return its row of the table."""
    g.build_vocab(sents)
    t0 = time.perf_counter()
    g.train(sents, total_examples=len(sents), epochs=epochs)
    secs = time.perf_counter() - t0
    gvocab, gvecs = from_keyed_vectors(g.wv)
    gws = word_similarity(gvecs, gvocab, wordsim353())
    return (name, n_words * epochs / secs, secs, gws["spearman"], gws["covered"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negatives", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--share", type=int, nargs="+", default=[1, 8], help="share_negatives values to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fasttext", action="store_true", help="also compare fastText (ours vs gensim)")
    ap.add_argument("--buckets", type=int, default=200_000, help="fastText n-gram buckets")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from gensim.models import Word2Vec

    sents = wiki_sentences()
    vocab = Vocab.from_corpus(sents, min_count=5)
    rows = []
    for share in args.share:
        pairs = SkipGramPairs(sents, vocab, window=args.window, negatives=args.negatives, sample=1e-3,
                              batch_size=args.batch_size, share_negatives=share, seed=args.seed)
        model = SkipGram(len(vocab), args.dim, seed=args.seed)
        hist = train_skipgram(model, pairs, epochs=args.epochs)
        ws = word_similarity(model.vectors(), vocab, wordsim353())
        rows.append((f"ours (torch, share_negatives={share})", hist.words_per_second, hist.seconds,
                     ws["spearman"], ws["covered"]))
        n_words = pairs.n_words
    g = Word2Vec(vector_size=args.dim, window=args.window, negative=args.negatives, sg=1, min_count=5,
                 sample=1e-3, workers=1, seed=args.seed + 1, alpha=0.025, min_alpha=1e-4)
    rows.append(train_gensim("gensim Word2Vec(sg=1)", g, sents, n_words, args.epochs))
    gw, gr = rows[-1][1], rows[-1][3]
    if args.fasttext:
        from gensim.models import FastText

        pairs = SkipGramPairs(sents, vocab, window=args.window, negatives=args.negatives, sample=1e-3,
                              batch_size=args.batch_size, share_negatives=max(args.share), seed=args.seed)
        ft = FastTextModel(vocab, args.dim, buckets=args.buckets, seed=args.seed)
        hist = train_skipgram(ft, pairs, epochs=args.epochs)
        ws = word_similarity(ft.vectors(), vocab, wordsim353())
        rows.append((f"ours fastText (share_negatives={max(args.share)})", hist.words_per_second, hist.seconds,
                     ws["spearman"], ws["covered"]))
        g = FastText(vector_size=args.dim, window=args.window, negative=args.negatives, sg=1, min_count=5,
                     sample=1e-3, workers=1, seed=args.seed + 1, min_n=3, max_n=6, bucket=args.buckets)
        rows.append(train_gensim("gensim FastText(sg=1)", g, sents, n_words, args.epochs))
    print(f"corpus: {len(sents)} sentences, {n_words} known words/epoch, vocab {len(vocab) - 4}; "
          f"epochs {args.epochs}, dim {args.dim}, window {args.window}, negatives {args.negatives}, 1 thread")
    print(f"{'model':38s} {'words/s':>9s} {'seconds':>8s} {'ratio':>6s} {'WordSim353':>10s} {'vs gensim':>9s} pairs")
    for name, wps, s, rho, cov in rows:
        if "fastText" in name or "FastText" in name:  # fastText rows: ratios to gensim's FastText
            gw, gr = rows[-1][1], rows[-1][3]
        print(f"{name:38s} {wps:9.0f} {s:8.1f} {wps / gw:6.2f} {rho:10.3f} {rho - gr:+9.3f} {cov}")


if __name__ == "__main__":
    main()
