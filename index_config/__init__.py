"""The index layer: the local Elasticsearch node, versioned templates, and a loader that loses nothing.

Modules: `node` (fetch/start/stop the integ-test distribution), `client` (a configured
client), `templates` (the JSON templates under `templates/`), `manage` (init, migrate, stats
behind write aliases), `spool` (the durable on-disk queue) and `loader` (idempotent bulk
upserts of `Listing` records).
"""
