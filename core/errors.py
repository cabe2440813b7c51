"""Errors a user can act on.

Anything raised as `ListingwatchError` is an expected failure (bad config, bad input, a
missing service): the CLI prints its message as one plain sentence and exits non-zero,
without a traceback. Its message must say what went wrong and how to fix it.
"""

# Exit codes a script can tell apart, the same for every command that reads a file of records
# (`index load`, `classify`, `index replay`): 1 = some lines or records were bad and skipped,
# 2 = an expected failure stopped the command, 3 = a service was unreachable (records spooled).
EXIT_BAD_INPUT = 1
EXIT_SPOOLED = 3


class ListingwatchError(Exception):
    """An expected failure with a one-sentence, actionable message."""

    exit_code = 2


class ConfigError(ListingwatchError):
    """The configuration (YAML, environment, source file) is invalid."""


class ServiceUnavailable(ListingwatchError):
    """A service the command needs (Elasticsearch, Java, Maven, the browser) is missing or down."""

    exit_code = 3
