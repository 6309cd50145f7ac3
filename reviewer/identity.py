"""Who is reviewing: ``--reviewer``/``--as`` first, then git's user.name/user.email, then the OS user."""

from __future__ import annotations

import getpass
import subprocess


def _git(key: str) -> str | None:
    try:
        out = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value or None


def reviewer_identity(explicit: str | None = None) -> str:
    """A "Name <email>" string (or just a name when no email is known)."""
    if explicit and explicit.strip():
        return explicit.strip()
    name, email = _git("user.name"), _git("user.email")
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return name or email  # type: ignore[return-value]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still label, never crash
        return "unknown"
