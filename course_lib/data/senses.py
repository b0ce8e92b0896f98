"""Hand-labelled senses of four ambiguous words of the Wikipedia extract (lectures 7, assignment 4).

:data:`SENSE_EXAMPLES` is data: ``{word: {sense: [phrase, ...]}}``, each phrase (lower-case, no
punctuation) picking one sentence of :func:`course_lib.data.wiki_sentences` that holds the word in
that sense; :func:`sense_sentences` finds those sentences.
"""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SENSE_EXAMPLES", "sense_sentences"]

# Hand-labelled: each entry is a word, its sense, and a phrase (lower-case, no punctuation) that
# picks one sentence of course_lib.data.wiki_sentences() containing the word in that sense.
SENSE_EXAMPLES: dict[str, dict[str, list[str]]] = {
    "plant": {
        "living plant": ["pteridophyte and spermatophyte plant species", "the seed of a plant in the soil",
                         "the bay laurel plant was used", "often ingest aquatic plant material",
                         "unlike plant cells animal cells", "they protect the plant against water loss"],
        "factory": ["operates a large plant in gadsden", "aircraft assembly plant in mobile",
                    "the assembly plant is the company's first", "chemical plant in billingham",
                    "chernobyl nuclear power plant", "coal fired power plant in albania"],
    },
    "capital": {
        "city": ["the capital of alabama is montgomery", "austin is the capital of texas",
                 "its capital andorra la vella", "the capital city juneau",
                 "the confederate capital at richmond", "south of the capital algiers"],
        "letter": ["the modern capital letter", "the majuscule capital form", "in all capital letters",
                   "using o capital letter o", "a capital a is also typically", "in geometry capital a b c"],
    },
    "court": {
        "law court": ["the supreme court unanimously held", "us supreme court ruled in brown",
                      "federal court cases required", "a 1747 court case",
                      "bankruptcy court for the northern district", "won a 2004 court decision"],
        "royal court": ["his court biographers", "at the court of lycomedes", "to the court of his friend hermias",
                        "at his court in prague", "achilles prepares to defend the court"],
    },
    "power": {
        "political": ["came to power its leaders", "seized power in 1659", "executive power is exercised",
                      "legislative power is vested", "centralizes power in montgomery",
                      "removing the government from power"],
        "electric": ["hydroelectric power mineral water", "hydroelectric power potential", "electric power and light",
                     "the output power of an electric", "coal fired power plant", "the power watts consumed"],
    },
}


def sense_sentences(word: str, sentences: Sequence[Sequence[str]] | None = None,
                    window: int | None = None) -> tuple[list[list[str]], list[int], list[str]]:
    """The hand-labelled occurrences of ``word`` (see ``SENSE_EXAMPLES``), found in the corpus.

    Args:
        word: a key of ``SENSE_EXAMPLES``.
        sentences: the tokenised corpus (default :func:`course_lib.data.wiki_sentences`).
        window: keep at most this many words on either side of ``word`` (None: whole sentence).

    Returns:
        ``(sentences, positions, senses)``: one entry per labelled occurrence.
    """
    if word not in SENSE_EXAMPLES:
        raise KeyError(f"no hand-labelled senses for {word!r}; known words: {sorted(SENSE_EXAMPLES)}")
    if sentences is None:
        from course_lib.data import wiki_sentences

        sentences = wiki_sentences()
    joined = [" " + " ".join(s) + " " for s in sentences]
    out_s, out_p, out_l = [], [], []
    for sense, phrases in SENSE_EXAMPLES[word].items():
        for phrase in phrases:
            hits = [i for i, j in enumerate(joined) if f" {phrase} " in j]
            if not hits:
                raise ValueError(f"the phrase {phrase!r} ({word}, {sense}) is not in the corpus")
            sent = list(sentences[hits[0]])
            ptoks = phrase.split()
            start = next(i for i in range(len(sent)) if sent[i:i + len(ptoks)] == ptoks)
            pos = start + ptoks.index(word)
            if window is not None:
                lo = max(0, pos - window)
                sent, pos = sent[lo:pos + window + 1], pos - lo
            out_s.append(sent)
            out_p.append(pos)
            out_l.append(sense)
    return out_s, out_p, out_l
