"""Every size and count limit Catnest enforces, declared once with its default and reason.

Config (`[limits]`) may override any of them; `docs/limits.md` is generated from this table's
values; tests/test_limits.py keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Every limit is a positive count: 0 or less would refuse everything or nothing by accident.
Positive = Annotated[int, msgspec.Meta(ge=1)]


class Limits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Limits applied before work is done. Defaults are generous for bots, tight for abuse."""

    # NapCat reads bodies up to 5000 MB (issue 6); 16 MiB fits a base64 image with room to spare.
    max_body_bytes: Positive = 16 * 1024 * 1024
    # A QQ text message caps near 4,500 characters of text; 64 KiB of text leaves room for
    # long bot output (markdown, tables) while keeping one message far from the body cap.
    max_message_text_chars: Positive = 64 * 1024
    # Segments per message: QQ rejects messages above a few hundred elements.
    max_segments: Positive = 500
    # CQ codes per string message: each becomes a segment, so this mirrors max_segments.
    max_cq_codes: Positive = 500
    # Characters of one `base64://` media value (about 3 MiB decoded): inline media is stored
    # with its message; bigger images go through the web side's upload.
    max_inline_media_chars: Positive = 4 * 1024 * 1024
    # JSON nesting depth of a request (DESIGN.md §2 strict JSON).
    max_json_depth: Positive = 64
    # get_recent_contact's count: above this the request fails naming the maximum.
    max_recent_contacts: Positive = 5000
    # History pages: more than this per call is refused rather than silently cut.
    max_history_count: Positive = 1000
    # Forward (node) nesting depth and node count.
    max_forward_depth: Positive = 3
    max_forward_nodes: Positive = 200
    # WebSocket frames: a bigger frame closes the connection (1009) before it is buffered whole.
    max_ws_frame_bytes: Positive = 16 * 1024 * 1024
    # Events waiting for one slow connection; past this the connection is closed so it can
    # neither slow the others nor grow memory without bound.
    max_queued_events: Positive = 2000
    # Requests one WS connection may have in flight; more wait (back-pressure on the reader).
    max_inflight_requests: Positive = 64
    # Open connections from one client address on one port: a flood from one host cannot use
    # up file descriptors meant for everyone else. Bots keep a handful; load tests use more.
    max_connections_per_address: Positive = 1024
    # File descriptors kept free for the database, logs and outgoing connections: the open
    # connections of all ports together stay below the process's open-file limit (raised to
    # its hard limit at start) less this, so one port's flood cannot starve another port.
    descriptor_reserve: Positive = 256
    # Seconds a connection may take to send a complete request head; one idle between requests
    # is closed after one to two of these: slow-loris connections never hold a handler.
    header_timeout_seconds: Positive = 15
    # Seconds a request body may take to arrive in full once its head is in.
    body_timeout_seconds: Positive = 60
    # Action calls per second per client address (a token is shared by every client that holds
    # it, so it cannot tell them apart), with bursts up to `request_burst`: one noisy client
    # cannot starve the others. Past it a call is refused as retryable (HTTP 429 with
    # Retry-After; on WS retcode 1400 saying when to retry). The default sits above what one
    # process serves (WS round trips reach 60,000/s on one core), so loopback load tests are
    # never throttled; lower it on a host others can reach.
    requests_per_second: Positive = 100000
    request_burst: Positive = 200000
    # `<action>_rate_limited` calls of one bot run one at a time, this many ms apart
    # (go-cqhttp spaced them through a 1/s bucket; NapCat ran them at once).
    rate_limited_interval_ms: Positive = 500
    # Names and cards: QQ caps nicknames at 36 bytes-ish; we allow 128 characters.
    max_name_chars: Positive = 128
