"""Retcodes and the one error type that code below the transports raises."""

from __future__ import annotations

from enum import IntEnum


class Retcode(IntEnum):
    """Retcodes Catnest answers with (DESIGN.md §2)."""

    OK = 0
    BAD_REQUEST = 1400  # bad params, or a business rule refused the action
    UNAUTHORIZED = 1401  # no token, or the account lacks the role or relationship
    FORBIDDEN = 1403  # wrong token
    NOT_FOUND = 1404  # unknown action, or a missing message / user / group
    INTERNAL = 1200  # unexpected failure; logged with a request id


class ActionError(Exception):
    """An action failed in a way the client can act on.

    Exactly one place per transport turns this into an envelope; everything below
    raises it (or a subclass) and never builds a response itself.
    """

    def __init__(self, retcode: int, message: str) -> None:
        super().__init__(message)
        self.retcode = int(retcode)
        self.message = message


class BadParams(ActionError):
    """A parameter is missing or has the wrong shape (1400)."""

    def __init__(self, message: str) -> None:
        super().__init__(Retcode.BAD_REQUEST, message)


class NotPermitted(ActionError):
    """The account lacks the role or relationship the action needs (1401)."""

    def __init__(self, message: str) -> None:
        super().__init__(Retcode.UNAUTHORIZED, message)


class NotFound(ActionError):
    """A message, user, group or action does not exist (1404)."""

    def __init__(self, message: str) -> None:
        super().__init__(Retcode.NOT_FOUND, message)
