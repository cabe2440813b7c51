"""The ground floor every package stands on: settings, errors, the listing record, JSONL, URLs, the
drug vocabulary and the relational store. It imports nothing of ours, so any stage or shell can
import it without pulling in another.
"""
