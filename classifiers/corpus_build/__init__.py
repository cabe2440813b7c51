"""The real-text corpus build tool: pinned public repositories in, one labelled JSONL corpus out.

Generated template families taught the model the wrappers of our own writing (sale cues,
handles, emoji); real market titles are terse ("10 GR. CRYSTAL METH") and real look-alikes are
long and factual. `build.prepare` turns mirrored repositories, at the commits pinned in
`classifiers/data/real_sources.yaml`, into one JSONL corpus with weak labels from each source's
own metadata (a market's category tree) or a stated rule, contact identifiers replaced by typed
placeholders, and a manifest with the SHA-256 of every input and of the output. `scripts/
fetch_real_corpus.py` drives it; training reads only the result (`classifiers.realcorpus`).

Modules: `mirror` reads git mirrors, `rows` is the row record, `labelling` the label rules,
`parsers` one parser per source format, `build` caps, splits, withdrawals and the snapshot.
"""
