# The two commands from the README. Both install what they need first (idempotent).
.PHONY: demo test setup lint

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/listingwatch demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
