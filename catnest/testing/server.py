"""A real Catnest for one test: free ports, a temporary world, one configured bot account.

The server runs in the test's event loop; the bot under test runs wherever it likes (a
subprocess, another language, the same process) and connects over OneBot like it would to
NapCat: forward WebSocket by default, or Catnest dials the bot (reverse WS) or posts to it
(webhook).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from catnest.app import App
from catnest.config import parse_config
from catnest.testing.users import Reply, VirtualUser
from catnest.web.api_groups import allocate_group_id
from catnest.web.api_users import allocate_uin
from catnest.world.events import MessageCreated, WorldEvent
from catnest.world.world import World

# How often wait_for_bot looks at the connection count: nothing announces a new connection,
# so it is polled (the condition, not a guess at how long the bot takes).
_CONNECTION_POLL_SECONDS = 0.02
_TRAFFIC_LINES = 20
_TRAFFIC_LINE_CHARS = 240


@dataclass
class CatnestOptions:
    """How `catnest_server` is set up; override the `catnest_options` fixture or use
    `@pytest.mark.catnest(...)` with these names."""

    bot_id: int = 10001
    bot_nickname: str = "Test Bot"
    forward_ws: bool = True  # a forward WS server the bot connects to (`server.ws_url`)
    http: bool = True  # the bot's HTTP API (`server.http_url`)
    reverse_ws: str | None = None  # the bot's WS URL that Catnest dials (reverse WS)
    webhook: str | None = None  # the bot's URL Catnest posts events to
    token: str = ""  # access token of every adapter (and the webhook's HMAC secret)
    message_format: Literal["array", "string"] = "array"
    report_self_message: bool = False
    web: bool = True  # the user API on a free port (`server.web_url`) and the traffic log
    demo: bool = False  # seed the demo world (users 20001-20004, groups 30001-30002)
    config: dict[str, Any] = field(default_factory=dict)  # raw config merged over the rest


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def build_config(options: CatnestOptions, data_dir: Path) -> dict[str, Any]:
    """The raw config of a test server (every listener on a free loopback port)."""
    common = {
        "token": options.token,
        "message_post_format": options.message_format,
        "report_self_message": options.report_self_message,
    }
    bot: dict[str, Any] = {
        "uin": options.bot_id,
        "nickname": options.bot_nickname,
        "http": [{**common, "port": 0}] if options.http else [],
        "ws": [{**common, "port": 0}] if options.forward_ws else [],
        "ws_clients": [],
        "webhooks": [],
    }
    if options.reverse_ws:
        # A test's bot may start after Catnest: dial again soon rather than back off for long.
        bot["ws_clients"] = [{**common, "url": options.reverse_ws, "reconnect_interval": 200}]
    if options.webhook:
        bot["webhooks"] = [{**common, "url": options.webhook}]
    raw = {
        "data_dir": str(data_dir),
        "demo": options.demo,
        "log_level": "warning",
        "web": {"enabled": options.web, "port": 0, "token": options.token},
        "bots": [bot],
    }
    return _merge(raw, options.config)


class CatnestServer:
    """A running Catnest and the helpers a test drives it with."""

    def __init__(self, options: CatnestOptions, data_dir: Path) -> None:
        self.options = options
        self.bot_id = options.bot_id
        self.token = options.token
        self.app = App(parse_config(build_config(options, data_dir)))
        self.world: World = self.app.world
        self.sent: list[Reply] = []  # every message the bot sent, in order
        self.names: dict[int, str] = {}  # the users made by `user()`, for failure messages
        self._changed = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        """Start Catnest and begin recording what the bot sends."""
        self._unsubscribe = self.world.hub.subscribe(None, self._on_event)
        await self.app.start()

    async def stop(self) -> None:
        """Stop Catnest."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.app.stop()

    def _on_event(self, event: WorldEvent) -> None:
        if isinstance(event, MessageCreated) and event.message.sender_uin == self.bot_id:
            self.sent.append(Reply.of(event.message, self.bot_id))
            self._changed.set()
            self._changed = asyncio.Event()

    # --- addresses ---------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """The forward WebSocket URL (API and events) the bot connects to."""
        if not self.app.ws_servers:
            raise RuntimeError("no forward WS server: set forward_ws=True")
        return f"ws://127.0.0.1:{self.app.ws_servers[0].port}/"

    @property
    def http_url(self) -> str:
        """The bot's OneBot HTTP API."""
        if not self.app.http_servers:
            raise RuntimeError("no HTTP API: set http=True")
        return f"http://127.0.0.1:{self.app.http_servers[0].port}"

    @property
    def web_url(self) -> str:
        """The chat page and user API."""
        if self.app.web is None:
            raise RuntimeError("no web server: set web=True")
        return self.app.web.url

    # --- people and groups -------------------------------------------------------------------

    async def user(
        self, nickname: str | None = None, *, uin: int | None = None, friend: bool = True
    ) -> VirtualUser:
        """A new virtual user, befriending the bot unless `friend=False`."""
        number = uin if uin is not None else await allocate_uin(self.world)
        account = await self.world.accounts.create_account(number, nickname or f"User {number}")
        if friend:
            await self.world.friends.make_friends(number, self.bot_id)
        self.names[number] = account.nickname
        return VirtualUser(self, account)

    async def group(
        self,
        *members: VirtualUser,
        name: str = "Test Group",
        owner: VirtualUser | None = None,
        bot_role: Literal["member", "admin", "owner"] | None = "member",
        group_id: int | None = None,
    ) -> int:
        """A new group of `members` with the bot in it (as `bot_role`; None leaves it out);
        the owner is `owner`, else the first member, else the bot. Returns the group id."""
        number = group_id if group_id is not None else await allocate_group_id(self.world)
        people = [m.uin for m in members]
        if owner is not None:
            owner_uin = owner.uin
        elif people and bot_role != "owner":
            owner_uin = people[0]
        else:
            owner_uin, bot_role = self.bot_id, "owner"
        rest: list[tuple[int, str, str]] = [(u, "member", "") for u in people if u != owner_uin]
        if bot_role in ("member", "admin") and owner_uin != self.bot_id:
            rest.append((self.bot_id, bot_role, ""))
        await self.world.groups.create_group(number, name, owner_uin, rest)
        return number

    # --- the bot -----------------------------------------------------------------------------

    @property
    def sent_count(self) -> int:
        """How many messages the bot has sent."""
        return len(self.sent)

    async def wait_for_sent(self, count: int, seconds: float) -> bool:
        """Wait until the bot has sent more than `count` messages; False on timeout."""
        try:
            async with asyncio.timeout(seconds):
                while len(self.sent) <= count:
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    @property
    def connections(self) -> int:
        """OneBot connections the bot has open (forward or reverse WS, HTTP SSE)."""
        events = self.app.bot_events.get(self.bot_id)
        hooks = sum(1 for hook in self.app.webhooks if hook.ctx.self_id == self.bot_id)
        return 0 if events is None else events.sink_count - hooks

    async def wait_for_bot(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has a WebSocket (or SSE) connection open to Catnest."""
        __tracebackhide__ = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.connections <= 0:
            if loop.time() >= deadline:
                where = self.ws_url if self.app.ws_servers else "its reverse WS URL"
                raise AssertionError(
                    f"bot {self.bot_id} did not connect within {timeout:g} s"
                    f" (expected a OneBot connection at {where})"
                )
            await asyncio.sleep(_CONNECTION_POLL_SECONDS)

    def traffic(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The bot's recent OneBot traffic (actions with params and results, events), oldest
        first; empty when the web side is off."""
        log = self.app.traffic
        if log is None:
            return []
        return [orjson.loads(e.data) for e in log.recent(self.bot_id, limit=limit)]

    # --- failure messages --------------------------------------------------------------------

    def connection_summary(self) -> str:
        """One line on whether the bot is connected."""
        count = self.connections
        if count > 0:
            return f"The bot has {count} OneBot connection(s) open."
        where = f" (forward WS: {self.ws_url})" if self.app.ws_servers else ""
        return f"The bot has NO OneBot connection open{where}: is it running?"

    def traffic_summary(self) -> list[str]:
        """The last traffic entries, one line each."""
        if self.app.traffic is None:
            return []
        entries = self.traffic(limit=_TRAFFIC_LINES)
        if not entries:
            return ["No OneBot traffic of the bot was recorded."]
        return ["Recent OneBot traffic of the bot:", *(_traffic_line(e) for e in entries)]


def _traffic_line(entry: dict[str, Any]) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.get("time", 0)))
    if entry.get("kind") == "action":
        params = orjson.dumps(entry.get("params")).decode()
        outcome = (
            "ok"
            if entry.get("retcode") == 0
            else (f"failed {entry.get('retcode')}: {entry.get('message', '')}")
        )
        line = f"  {stamp} bot called {entry.get('action')} {params} -> {outcome}"
    else:
        event = entry.get("event") or {}
        summary = (
            event.get("raw_message") or event.get("notice_type") or event.get("request_type") or ""
        )
        kind = event.get("message_type") or event.get("post_type", "event")
        line = f"  {stamp} bot was sent {kind} event {summary!r}"
    if len(line) > _TRAFFIC_LINE_CHARS:
        line = line[: _TRAFFIC_LINE_CHARS - 3] + "..."
    return line
