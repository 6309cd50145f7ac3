"""``python -m reviewer.store > docs/schema.md``: print the schema's documentation (Markdown)."""

import sys

from .schema import schema_markdown

sys.stdout.write(schema_markdown())
