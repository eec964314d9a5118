"""The chat page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Each test starts a real Catnest with its web server, opens the page and acts as a person would;
bots are raw OneBot clients on the forward WebSocket. Without Chromium or Playwright the tests
skip, except on CI (`CATNEST_REQUIRE_SERVICES=1`), where they fail.

`CATNEST_SCREENSHOTS=<folder>` also saves the main views there (docs/screenshots/ keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from catnest.onebot import envelope
from tests.conftest import ALICE, BOB, BOT, CAROL, DAVE, LOUNGE, Running, StartServer, content
from tests.scripted_bot import ScriptedBot, connected

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page

WAIT = 10.0
CHROMIUM = os.environ.get("CATNEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = os.environ.get("CATNEST_SCREENSHOTS", "")
# A 1×1 PNG: what a person would pick in the image dialog.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5b1ad6c0000000049454e44ae426082"
)


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    problem = _missing()
    if problem is not None:
        if os.environ.get("CATNEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (CATNEST_REQUIRE_SERVICES=1)")
        pytest.skip(problem)
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT * 1000)
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


OpenPage = Callable[..., Any]


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Open a URL in a fresh browser context; uncaught script errors fail the test."""
    errors: list[str] = []
    contexts = []

    async def open_(url: str, width: int = 1440, height: int = 900) -> Page:
        context = await browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(url)
        return page

    yield open_
    for context in contexts:
        await context.close()
    assert errors == [], errors


async def start(start_server: StartServer, **web: Any) -> Running:
    """A Catnest with the demo world, its web server and a forward WS for bots."""
    return await start_server(web={"enabled": True, "port": 0, **web}, bot={"ws": [{"port": 0}]})


def page_url(running: Running) -> str:
    assert running.app.web is not None
    return running.app.web.url + "/"


@contextlib.asynccontextmanager
async def connect_bot(running: Running) -> AsyncIterator[ScriptedBot]:
    async with connected(f"ws://127.0.0.1:{running.app.ws_servers[0].port}/") as bot:
        yield bot


def private_from(user: int, text: str) -> Callable[[dict[str, Any]], bool]:
    def pred(event: dict[str, Any]) -> bool:
        return (
            event.get("message_type") == "private"
            and event.get("user_id") == user
            and text in event.get("raw_message", "")
        )

    return pred


async def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page when CATNEST_SCREENSHOTS names a folder."""
    if SHOTS:
        await asyncio.to_thread(Path(SHOTS).mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def bubble(page: Page, text: str) -> Locator:
    return page.get_by_test_id("message-bubble").filter(has_text=re.compile(f"^{re.escape(text)}$"))


def message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("message").filter(has=bubble(page, text))


async def pick_user(page: Page, uin: int) -> None:
    from playwright.async_api import expect

    await page.get_by_test_id(f"pick-user-{uin}").click()
    await expect(page.get_by_test_id("user-dialog")).to_be_hidden()
    await expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")


async def say(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer-input")
    await composer.click()
    await composer.press_sequentially(text)
    await composer.press("Enter")


async def unread(running: Running, uin: int, peer: int) -> int:
    """What get_recent_contact says is unread in `uin`'s chat with `peer`."""
    entries = await running.app.world.conversations.recent_contacts(uin, 50)
    return next(e.unread for e in entries if e.peer_uin == peer)


async def test_chat_with_a_bot(start_server: StartServer, open_page: OpenPage) -> None:
    from playwright.async_api import expect

    running = await start(start_server)
    async with connect_bot(running) as bot:
        page = await open_page(page_url(running))
        await expect(page.get_by_test_id(f"pick-user-{ALICE}")).to_be_visible()
        await shot(page, "pick-user")
        await pick_user(page, ALICE)
        to_bot = page.get_by_test_id(f"conversation-private-{BOT}")
        await expect(to_bot).to_be_visible()
        await expect(
            page.get_by_test_id(f"conversation-group-{LOUNGE}").get_by_test_id("unread-badge")
        ).to_have_text("2")
        await to_bot.click()
        await expect(page.get_by_test_id("chat-title")).to_have_text("Catnest Bot")
        await expect(bubble(page, "/help")).to_be_visible()

        # Say ping; the bot hears it and its pong arrives live.
        await say(page, "ping")
        await bot.wait_for(private_from(ALICE, "ping"))
        await expect(bubble(page, "pong")).to_be_visible()
        await expect(message(page, "pong")).not_to_have_class(re.compile(r"\bown\b"))
        await expect(message(page, "ping")).to_have_class(re.compile(r"\bown\b"))
        await expect(to_bot.get_by_test_id("conversation-preview")).to_have_text("pong")
        await shot(page, "chat")

        # Click the pong to reply to it; add a face from the picker.
        await bubble(page, "pong").click()
        await expect(page.get_by_test_id("reply-bar")).to_contain_text("pong")
        await page.get_by_test_id("face-button").click()
        await page.get_by_test_id("face-option-14").click()
        await page.get_by_test_id("composer-input").press_sequentially(" thanks")
        await page.get_by_test_id("send-button").click()
        pong_id = await message(page, "pong").get_attribute("data-message-id")
        replied = await bot.wait_for(private_from(ALICE, "thanks"))
        assert replied["message"] == [
            {"type": "reply", "data": {"id": pong_id}},
            {"type": "face", "data": {"id": "14"}},
            {"type": "text", "data": {"text": " thanks"}},
        ]
        await expect(page.get_by_test_id("reply-bar")).to_be_hidden()
        await expect(page.get_by_test_id("quote").filter(has_text="pong")).to_be_visible()

        # React to the pong, poke the bot, send an image.
        pong = message(page, "pong")
        await pong.hover()
        await pong.get_by_test_id("react-button").click()
        await page.get_by_test_id("reaction-option-128077").click()
        await expect(pong.get_by_test_id("reaction-128077")).to_have_text(re.compile(r"1$"))
        await page.get_by_test_id("poke-peer-button").click()
        await bot.wait_for(lambda e: e.get("sub_type") == "poke" and e.get("user_id") == ALICE)
        await expect(page.get_by_test_id("system-line").filter(has_text="poked")).to_be_visible()
        await page.get_by_test_id("image-input").set_input_files(
            files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
        )
        attachment = page.get_by_test_id("attachment")
        await expect(attachment).not_to_have_class(re.compile("uploading"))
        await page.get_by_test_id("send-button").click()
        image = await bot.wait_for(private_from(ALICE, "[CQ:image"))
        url = image["message"][0]["data"]["url"]
        async with running.session.get(url) as resp:
            assert resp.status == 200 and await resp.read() == PNG
        await expect(page.get_by_test_id("message-image")).to_have_count(1)

        # Whatever the bot sends is text, never markup.
        await bot.call("send_private_msg", user_id=ALICE, message="<img src=x onerror=alert(1)>")
        await expect(bubble(page, "<img src=x onerror=alert(1)>")).to_be_visible()
        assert await page.locator(".bubble img:not([data-testid=message-image])").count() == 0

        # Elsewhere, the bot's next message shows as unread; opening the chat clears it.
        await page.get_by_test_id(f"conversation-group-{LOUNGE}").click()
        await expect(page.get_by_test_id("chat-title")).to_have_text("Catnest Lounge")
        await expect(
            page.get_by_test_id(f"conversation-group-{LOUNGE}").get_by_test_id("unread-badge")
        ).to_have_count(0)
        await bot.call("send_private_msg", user_id=ALICE, message="are you still there?")
        badge = to_bot.get_by_test_id("unread-badge")
        await expect(badge).to_have_text("1")
        await expect(to_bot.get_by_test_id("conversation-preview")).to_have_text(
            "are you still there?"
        )
        await shot(page, "unread")
        read_mark = f"/api/v1/users/{ALICE}/private/{BOT}/read"
        async with page.expect_response(lambda r: r.url.endswith(read_mark)) as marked:
            await to_bot.click()
        assert (await marked.value).status == 204
        await expect(bubble(page, "are you still there?")).to_be_visible()
        await expect(badge).to_have_count(0)
        assert await unread(running, ALICE, BOT) == 0

        # Recall the ping: it leaves a notice, and the bot hears of it.
        ping = message(page, "ping")
        ping_id = await ping.get_attribute("data-message-id")
        await ping.hover()
        await ping.get_by_test_id("recall-button").click()
        await expect(bubble(page, "ping")).to_have_count(0)
        notice = page.locator(f'[data-testid=recalled-notice][data-message-id="{ping_id}"]')
        await expect(notice).to_have_text("You recalled a message")
        await bot.wait_for(
            lambda e: e.get("notice_type") == "friend_recall" and str(e["message_id"]) == ping_id
        )
        # After a reload the notice is still where the message was, from the history page.
        await page.reload()
        await page.get_by_test_id(f"conversation-private-{BOT}").click()
        await expect(notice).to_have_text("You recalled a message")
        await expect(bubble(page, "are you still there?")).to_be_visible()
        await expect(bubble(page, "ping")).to_have_count(0)


async def test_history_scrolls_back(start_server: StartServer, open_page: OpenPage) -> None:
    from playwright.async_api import expect

    running = await start(start_server)
    for i in range(75):
        await running.app.world.messages.send_private(BOB, ALICE, content(f"line {i}"))
    page = await open_page(page_url(running))
    await pick_user(page, ALICE)
    await page.get_by_test_id(f"conversation-private-{BOB}").click()
    bubbles = page.get_by_test_id("message-bubble")
    await expect(bubble(page, "line 74")).to_be_visible()
    await expect(bubbles).to_have_count(30)
    status = page.get_by_test_id("history-status")
    await expect(status).to_have_attribute("data-more", "true")
    # Scrolling to the top loads the page before, keeping the reader where they were.
    for expected in (60, 75):
        await page.get_by_test_id("message-list").evaluate("node => { node.scrollTop = 0; }")
        await expect(bubbles).to_have_count(expected)
    await expect(status).to_have_attribute("data-more", "false")
    await expect(status).to_have_text("This is the beginning of the conversation.")
    assert await bubbles.all_text_contents() == [f"line {i}" for i in range(75)]


async def test_groups_are_managed_from_the_page(
    start_server: StartServer, open_page: OpenPage
) -> None:
    from playwright.async_api import expect

    running = await start(start_server)
    async with connect_bot(running) as bot:
        page = await open_page(page_url(running))
        await pick_user(page, ALICE)
        await page.get_by_test_id("tab-contacts").click()
        await page.get_by_test_id("create-group-button").click()
        await page.get_by_test_id("create-group-name").fill("Bot Testers")
        for uin in (BOT, BOB):
            await page.get_by_test_id(f"create-group-member-{uin}").check()
        await page.get_by_test_id("create-group-submit").click()
        await expect(page.get_by_test_id("chat-title")).to_have_text("Bot Testers")
        group = next(
            g for g in await running.app.world.groups.all_groups() if g.name == "Bot Testers"
        )
        gid = group.group_id

        # @ the bot from the mention picker.
        await page.get_by_test_id("mention-button").click()
        await page.get_by_test_id(f"mention-option-{BOT}").click()
        await page.get_by_test_id("composer-input").press_sequentially("hello")
        await page.get_by_test_id("composer-input").press("Enter")
        heard = await bot.wait_for(
            lambda e: e.get("group_id") == gid and "hello" in e.get("raw_message", "")
        )
        mention = heard["message"][0]
        assert mention["type"] == "at" and mention["data"]["qq"] == str(BOT)
        mentioned = page.get_by_test_id("message-bubble").filter(has_text="@Catnest Bot")
        await expect(mentioned).to_be_visible()

        # Manage: add Carol, make Bob an admin, give Carol a card, mute her.
        await page.get_by_test_id("group-settings-button").click()
        dialog = page.get_by_test_id("group-dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_test_id("add-member-input").fill(str(CAROL))
        await dialog.get_by_test_id("add-member-submit").click()
        await expect(dialog.get_by_test_id(f"member-{CAROL}")).to_be_visible()
        await dialog.get_by_test_id(f"admin-toggle-{BOB}").click()
        await expect(dialog.get_by_test_id(f"member-role-{BOB}")).to_have_text("admin")
        await dialog.get_by_test_id(f"card-input-{CAROL}").fill("Caz")
        await dialog.get_by_test_id(f"card-save-{CAROL}").click()
        await dialog.get_by_test_id(f"mute-duration-{CAROL}").select_option("600")
        await dialog.get_by_test_id(f"mute-{CAROL}").click()
        await expect(dialog.get_by_test_id(f"unmute-{CAROL}")).to_be_visible()
        await expect(dialog.get_by_test_id(f"card-input-{CAROL}")).to_have_value("Caz")
        await shot(page, "group-management")
        carol = await running.app.world.groups.member(gid, CAROL)
        assert carol is not None and carol.card == "Caz" and carol.shut_up_until > 0
        bob = await running.app.world.groups.member(gid, BOB)
        assert bob is not None and bob.role == "admin"
        await dialog.get_by_test_id("group-dialog-close").click()
        lines = page.get_by_test_id("system-line")
        await expect(lines.filter(has_text="Bob is now an admin")).to_be_visible()
        await expect(lines.filter(has_text="muted Caz for 10 minutes")).to_be_visible()

        # As owner, Alice may recall the bot's message in her group.
        await bot.call("send_group_msg", group_id=gid, message="bot was here")
        said = message(page, "bot was here")
        await said.hover()
        await said.get_by_test_id("recall-button").click()
        await expect(page.get_by_test_id("recalled-notice")).to_have_text(
            "You recalled a message from Catnest Bot"
        )
    assert await running.app.world.groups.member(gid, DAVE) is None


async def test_traffic_pane_shows_entries_live(
    start_server: StartServer, open_page: OpenPage
) -> None:
    from playwright.async_api import expect

    running = await start(start_server)
    log = running.app.traffic
    assert log is not None
    log.record_action(BOT, "get_login_info", {}, envelope.ok({"user_id": BOT}), elapsed_ms=0.4)
    page = await open_page(page_url(running))
    await pick_user(page, ALICE)
    pane = page.get_by_test_id("traffic-pane")
    entries = pane.get_by_test_id("traffic-entry")
    await expect(entries).to_have_count(1)
    await expect(pane.get_by_test_id(f"traffic-bot-{BOT}")).to_have_attribute(
        "aria-selected", "true"
    )
    # New entries stream in, newest first; failures are marked; heartbeats hide by default.
    log.record_event(BOT, {"post_type": "meta_event", "meta_event_type": "heartbeat"})
    log.record_event(
        BOT,
        {
            "post_type": "message",
            "message_type": "private",
            "user_id": ALICE,
            "raw_message": "<b>hi</b>",
        },
    )
    log.record_action(BOT, "delete_msg", {"message_id": 1}, envelope.failed(1404, "not found"))
    await expect(entries).to_have_count(4)
    await expect(entries.first).to_have_attribute("data-name", "delete_msg")
    await expect(entries.first).to_have_class(re.compile("failed"))
    await expect(entries.filter(has_text="meta_event.heartbeat")).to_be_hidden()
    await page.get_by_test_id("traffic-heartbeats").check()
    await expect(entries.filter(has_text="meta_event.heartbeat")).to_be_visible()
    message_entry = entries.filter(has_text="message.private")
    await expect(message_entry).to_contain_text("<b>hi</b>")
    await message_entry.get_by_role("button").click()
    details = message_entry.get_by_test_id("traffic-json")
    await expect(details).to_contain_text('"raw_message": "<b>hi</b>"')
    await page.get_by_test_id("traffic-filter").fill("delete")
    await expect(entries.filter(has_text="get_login_info")).to_be_hidden()
    await expect(entries.filter(has_text="delete_msg")).to_be_visible()


async def test_traffic_pane_shows_the_bots_calls(
    start_server: StartServer, open_page: OpenPage
) -> None:
    from playwright.async_api import expect

    running = await start(start_server)
    async with connect_bot(running) as bot:
        page = await open_page(page_url(running))
        await pick_user(page, ALICE)
        await page.get_by_test_id(f"conversation-private-{BOT}").click()
        await say(page, "ping")
        await expect(bubble(page, "pong")).to_be_visible()
        await bot.wait_for(private_from(ALICE, "ping"))
        log = running.app.traffic
        assert log is not None
        assert log.recent(BOT), "the transports recorded none of the bot's OneBot traffic"
        pane = page.get_by_test_id("traffic-pane")
        call = pane.locator('[data-testid=traffic-entry][data-name="send_private_msg"]')
        await expect(call).to_be_visible()
        await expect(call).to_contain_text('"message":"pong"')
        await call.get_by_role("button").click()
        await expect(call.get_by_test_id("traffic-json")).to_contain_text('"retcode": 0')
        await expect(
            page.get_by_test_id(f"conversation-private-{BOT}").get_by_test_id(
                "conversation-preview"
            )
        ).to_have_text("pong")
        await expect(
            pane.locator('[data-testid=traffic-entry][data-name="message.private"]')
            .filter(has_text="ping")
            .first
        ).to_be_visible()
        await shot(page, "traffic")


async def test_the_page_asks_for_the_token(start_server: StartServer, open_page: OpenPage) -> None:
    from playwright.async_api import expect

    running = await start(start_server, token="s3cret")
    page = await open_page(page_url(running))
    dialog = page.get_by_test_id("token-dialog")
    await expect(dialog).to_be_visible()
    await page.get_by_test_id("token-input").fill("wrong")
    await page.get_by_test_id("token-submit").click()
    await expect(page.get_by_test_id("token-error")).to_contain_text("access token is wrong")
    await page.get_by_test_id("token-input").fill("s3cret")
    await page.get_by_test_id("token-submit").click()
    await pick_user(page, ALICE)
    await expect(page.get_by_test_id(f"conversation-private-{BOT}")).to_be_visible()

    # A new virtual user, who befriends the bot from Contacts.
    await page.get_by_test_id("switch-user-button").click()
    await page.get_by_test_id("new-user-nickname").fill("Erin")
    await page.get_by_test_id("new-user-submit").click()
    await expect(page.get_by_test_id("user-select")).to_have_value("20005")
    await page.get_by_test_id("tab-contacts").click()
    await page.get_by_test_id("add-friend-input").fill(str(BOT))
    await page.get_by_test_id("add-friend-submit").click()
    await page.get_by_test_id(f"friend-{BOT}").click()
    await say(page, "hi, I am new")
    await expect(
        page.get_by_test_id(f"conversation-private-{BOT}").get_by_test_id("conversation-preview")
    ).to_have_text("hi, I am new")
    erin = await running.app.world.accounts.account(20005)
    assert erin.nickname == "Erin" and not erin.is_bot

    # A link carrying the token works at once and leaves no token in the address bar.
    linked = await open_page(page_url(running) + "#token=s3cret")
    await pick_user(linked, BOB)
    assert "s3cret" not in linked.url
    await expect(linked.get_by_test_id("token-dialog")).to_be_hidden()
