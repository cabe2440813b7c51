"""The classifier area: lexicon, owned training corpus, fine-tuned model, evaluation, fast inference.

Entry points other stages call: `classifiers.inference.Classifier`, `classifiers.inference.classify_file`,
`classifiers.train.train_model`, `classifiers.evaluate.evaluate_model` and `classifiers.registry`.
"""
