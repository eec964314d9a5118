// What the page holds (`state`) and how it talks to the user-side API (/api/v1,
// catnest/web/openapi-user.yaml): JSON calls with the Bearer token, asked for once, and
// server-sent event streams read with fetch.
"use strict";

// --- state ---------------------------------------------------------------------------------------

const TOKEN_KEY = "catnest.token";
const USER_KEY = "catnest.user";
const HISTORY_PAGE = 30;
const ROLE_RANK = { owner: 3, admin: 2, member: 1 };

const state = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  info: null,
  accounts: new Map(), // uin -> account (users and bots)
  me: null, // the acting account
  conversations: [],
  friends: [],
  groups: new Map(), // group_id -> group (with the viewer's role)
  members: new Map(), // group_id -> Map(uin -> member)
  stream: null,
  current: null, // {kind: "private"|"group", id, viaGroup, key}
  convSeq: 0, // bumps when the open conversation changes: stale loads are dropped
  messages: new Map(), // message_id -> {obj, node, reactions: Map(emoji -> count)}
  newestShown: null, // the open conversation's newest message id shown (recalled ones too)
  oldestId: null,
  hasMore: false,
  loadingOlder: false,
  reply: null,
  attachments: [],
  myReactions: new Set(), // "<message_id>:<emoji_id>" this user added
  quoteCache: new Map(),
  traffic: { bot: null, stream: null, entries: [], paused: false, held: [] },
};

const convKey = (kind, id) => `${kind}:${id}`;

// --- the API -------------------------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

let tokenWaiters = null;

/** Ask for the token (once for any number of refused requests); resolves when one is given. */
function askToken(message) {
  const dialog = $("token-dialog");
  const error = $("token-error");
  error.hidden = !message;
  error.textContent = message || "";
  if (!dialog.open) dialog.showModal();
  $("token-input").focus();
  if (!tokenWaiters) tokenWaiters = [];
  return new Promise((resolve) => tokenWaiters.push(resolve));
}

function isTokenRefusal(status, message) {
  // 401: none given; 403 "access token is wrong" / "... differ": a wrong one.
  return status === 401 || (status === 403 && /^access token/i.test(message));
}

async function api(method, path, body, { retry = true } = {}) {
  const headers = authHeaders();
  const init = { method, headers, cache: "no-store" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const message = (data && data.error && data.error.message) || `HTTP ${resp.status}`;
    if (retry && isTokenRefusal(resp.status, message)) {
      await askToken(resp.status === 401 ? "" : message);
      return api(method, path, body, { retry });
    }
    throw new ApiFailure(resp.status, message, data && data.error && data.error.code);
  }
  return data;
}

const userPath = (suffix = "") => `/api/v1/users/${state.me.uin}${suffix}`;

function convPath(conv, suffix) {
  const base = conv.kind === "group" ? `/groups/${conv.id}` : `/private/${conv.id}`;
  return userPath(base + suffix);
}

/** Read a server-sent event stream with fetch (so the Bearer header goes along), resuming
 *  after the last id it saw whenever the connection drops. */
function openStream(url, onEvent, { onState } = {}) {
  const controller = new AbortController();
  let lastId = "";
  let closed = false;
  (async () => {
    let delay = 500;
    while (!closed) {
      try {
        const headers = authHeaders();
        if (lastId) headers["Last-Event-ID"] = lastId;
        const resp = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
        if (!resp.ok) {
          const message = await resp.text().catch(() => "");
          let reason = `HTTP ${resp.status}`;
          try { reason = JSON.parse(message).error.message; } catch { /* not JSON */ }
          if (isTokenRefusal(resp.status, reason)) await askToken(resp.status === 401 ? "" : reason);
          throw new Error(reason);
        }
        onState && onState("live");
        delay = 500;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const parsed = parseSse(block);
            if (parsed.id) lastId = parsed.id;
            if (parsed.data !== null) {
              try { onEvent(JSON.parse(parsed.data), parsed.id); } catch (err) { console.error(err); }
            }
          }
        }
      } catch (err) {
        if (closed) return;
        console.warn("stream", url, err);
      }
      if (closed) return;
      onState && onState("retrying");
      await sleep(delay);
      delay = Math.min(delay * 2, 10000);
    }
  })();
  return { close() { closed = true; controller.abort(); } };
}

function parseSse(block) {
  let id = "";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  return { id, data: data.length ? data.join("\n") : null };
}
