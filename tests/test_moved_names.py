"""Names that moved to their own module stay importable from where notebooks and assignments import them."""
import importlib

import pytest

MOVED = [  # (old home, name, new home, name there)
    ("course_lib.data.batching", "masked_cross_entropy", "course_lib.models.losses", "masked_cross_entropy"),
    ("course_lib.data.batching", "masked_mean", "course_lib.models.losses", "masked_mean"),
    ("course_lib.data.batching", "lengths_to_mask", "course_lib.data.masks", "lengths_to_mask"),
    ("course_lib.data.corpora", "cache_dir", "course_lib.cache", "cache_dir"),
    ("course_lib.data.corpora", "fingerprint", "course_lib.cache", "fingerprint"),
    ("course_lib.data", "cache_dir", "course_lib.cache", "cache_dir"),
    ("course_lib.models.deep", "reverse_padded", "course_lib.data.masks", "reverse_padded"),
    ("course_lib.models.elmo", "reverse_padded", "course_lib.data.masks", "reverse_padded"),
    ("course_lib.models.elmo", "cosine_matrix", "course_lib.embeddings", "cosine_similarity"),
    ("course_lib.models.elmo", "SENSE_EXAMPLES", "course_lib.data.senses", "SENSE_EXAMPLES"),
    ("course_lib.models.elmo", "sense_sentences", "course_lib.data.senses", "sense_sentences"),
    *[("course_lib.models.elmo", n, "course_lib.contextual", n) for n in
      ("within_across_similarity", "context_parts", "nearest_tokens", "token_vectors", "embed_sentences")],
    *[("course_lib.models.elmo", n, "course_lib.recipes.bilm", n) for n in
      ("pretrained_bilm", "lm_chunks", "save_bilm", "load_bilm")],
    *[("course_lib.models.skipgram", n, "course_lib.recipes.skipgram", n) for n in
      ("train_skipgram", "pretrained_static_vectors")],
    *[("course_lib.models.seq_tasks", n, m, n) for n, m in
      (("classification_loss", "course_lib.models.losses"), ("tagging_loss", "course_lib.models.losses"),
       ("predict", "course_lib.models.predict"), ("binary_scores", "course_lib.metrics"))],
    ("course_lib.formal_languages", "recall_batch", "course_lib.data.recall", "recall_batch"),
    *[("course_lib.formal_languages", n, "course_lib.models.counting", n) for n in
      ("CountingModel", "predict_next", "strings_correct", "largest_correct_n")],
    *[("course_lib.formal_languages", n, "course_lib.recipes.counting", n) for n in
      ("CountingRun", "train_counting", "counting_experiment", "LOSSES")],
    *[("course_lib.models.forecasters", n, "course_lib.recipes.forecasting", n) for n in
      ("ForecasterConfig", "TrainedForecaster", "train_forecaster", "forecast", "recursive_forecast",
       "rnn_forecaster", "forecaster_loss", "choose_steps", "run_comparison")],
]


@pytest.mark.parametrize("old, name, new, new_name", MOVED, ids=[f"{o}.{n}" for o, n, _, _ in MOVED])
def test_old_import_gives_the_same_object(old, name, new, new_name):
    old_mod, new_mod = importlib.import_module(old), importlib.import_module(new)
    assert getattr(old_mod, name) is getattr(new_mod, new_name)
    assert name in dir(old_mod)


def test_unknown_names_still_raise_attribute_error():
    import course_lib.models.elmo as elmo

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        elmo.nope  # noqa: B018


def test_models_do_not_import_the_trainer():
    """Training recipes sit above the models: no model module imports course_lib.train."""
    import subprocess
    import sys

    code = ("import sys, importlib, pkgutil, course_lib.models as m\n"
            "for i in pkgutil.iter_modules(m.__path__): importlib.import_module('course_lib.models.' + i.name)\n"
            "import course_lib.formal_languages, course_lib.embeddings, course_lib.lm\n"
            "print('course_lib.train' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
