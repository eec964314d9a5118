"""The world tools behind `catnest world`: seed, export, import and show a world database.

They work on the store directly (no server, no adapters) and report bad input as one
`ToolError` whose message is the whole explanation.
"""


class ToolError(Exception):
    """A world tool refused its input; the message says what and where, in one line."""
