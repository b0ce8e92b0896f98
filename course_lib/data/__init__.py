"""Data: vocabularies and tokenising, offline corpora, batching."""
from course_lib.data.vocab import Vocab, tokenize, split_sentences
from course_lib.data.corpora import (
    CorpusUnavailable,
    analogy_questions,
    cache_dir,
    simlex999,
    stdlib_code_text,
    wiki_sentences,
    wordsim353,
)

__all__ = [
    "Vocab", "tokenize", "split_sentences", "CorpusUnavailable", "analogy_questions", "cache_dir",
    "simlex999", "stdlib_code_text", "wiki_sentences", "wordsim353",
]
