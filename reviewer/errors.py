"""Errors meant for the user: the CLI prints them as one line (no traceback) and exits 2."""


class ReviewerError(Exception):
    """Base of every error whose message is written for the user."""


class UsageError(ReviewerError):
    """Bad input from the user (an option, a spec, a file): what and where, in one line."""
