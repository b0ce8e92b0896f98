"""Training recipes: how the course trains its models, above the models themselves.

A model module (``course_lib.models.*``) says what a network computes and never imports the
trainer; a recipe here puts a model, its data, an optimizer, a schedule and
:func:`course_lib.train.fit` together, and caches what it trained (:mod:`course_lib.cache`).

- :mod:`course_lib.recipes.skipgram`: ``train_skipgram``, ``pretrained_static_vectors`` (lecture 2, 7)
- :mod:`course_lib.recipes.counting`: ``train_counting``, ``counting_experiment`` (lecture 6, assignment 3)
- :mod:`course_lib.recipes.bilm`: ``pretrained_bilm`` (lecture 7, assignment 4)
- :mod:`course_lib.recipes.tagging`: ``train_tagger``, ``fit_tagger``, ``tagger_scores`` (lectures 5 and 7: one
  loss, one F1 for the sentence-boundary taggers)

Their names are also importable from the model modules, as the lectures import them.
"""
