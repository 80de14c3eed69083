"""Adapting a model to a clinic's own corrected images, torch-free: what the corrections are, where
they are found, how a fine-tuning is set up, and the ``finetune`` command. The fine-tuning itself
(torch) is ``core.ml.finetune``, reached lazily."""
