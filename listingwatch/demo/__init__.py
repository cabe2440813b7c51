"""The demo rig behind `listingwatch demo`: local services up, a model in service, every source's DAG run."""
