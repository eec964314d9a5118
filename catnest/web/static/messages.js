// The open conversation: history that scrolls back, read marks, and each message rendered
// from its segments.
"use strict";

// --- the open conversation -----------------------------------------------------------------------

function closeConversation() {
  state.current = null;
  state.convSeq += 1;
  state.messages.clear();
  state.newestShown = null;
  state.reply = null;
  clearAttachments();
  $("chat-empty").hidden = false;
  for (const id of ["chat-header", "message-list", "composer", "jump-new"]) $(id).hidden = true;
  $("layout").dataset.view = "list";
}

async function openConversation(conv) {
  const key = convKey(conv.kind, conv.id);
  if (state.current && state.current.key === key) {
    $("layout").dataset.view = "chat";
    return;
  }
  closeConversation();
  const seq = state.convSeq;
  state.current = { ...conv, key };
  showTab("chats");
  $("layout").dataset.view = "chat";
  $("chat-empty").hidden = true;
  for (const id of ["chat-header", "message-list", "composer"]) $(id).hidden = false;
  const list = $("message-list");
  for (const node of list.querySelectorAll(".msg, .system")) node.remove();
  state.oldestId = null;
  state.hasMore = false;
  setReply(null);
  updateChatHeader();
  renderConversations();
  if (conv.kind === "group") {
    await guard(() => loadMembers(conv.id));
    if (seq !== state.convSeq) return;
    updateChatHeader();
  }
  await loadPage(seq, null);
  if (seq !== state.convSeq) return;
  list.scrollTop = list.scrollHeight;
  markRead();
  $("composer-input").focus();
}

function updateChatHeader() {
  const conv = state.current;
  if (!conv) return;
  let name = conv.name;
  let subtitle = "";
  if (conv.kind === "group") {
    const group = state.groups.get(conv.id);
    if (group) {
      name = group.name;
      subtitle = `Group ${conv.id} · ${group.member_count} members · you are ${myRole(conv.id)}`;
      if (group.mute_all) subtitle += " · everyone muted";
    } else {
      subtitle = `Group ${conv.id}`;
    }
  } else {
    const account = state.accounts.get(conv.id);
    name = name || (account && account.nickname) || String(conv.id);
    subtitle = `QQ ${conv.id}${account && account.is_bot ? " · bot" : ""}${conv.viaGroup ? ` · temporary chat via group ${conv.viaGroup}` : ""}`;
  }
  conv.name = name;
  $("chat-title").textContent = name;
  $("chat-subtitle").textContent = subtitle;
  const chatAvatar = $("chat-avatar");
  chatAvatar.replaceWith(Object.assign(avatar(name, conv.id, conv.kind === "group" ? "group" : ""), { id: "chat-avatar" }));
  $("group-settings").hidden = conv.kind !== "group";
  $("poke-peer").hidden = conv.kind !== "private";
  $("mention-button").hidden = conv.kind !== "group";
  updateMuteNote();
}

function updateMuteNote() {
  const conv = state.current;
  const note = $("muted-note");
  let text = "";
  if (conv && conv.kind === "group") {
    const me = state.members.get(conv.id)?.get(state.me.uin);
    const group = state.groups.get(conv.id);
    const now = Date.now() / 1000;
    if (me && me.muted_until > now) text = `You are muted until ${formatTime(me.muted_until)}.`;
    else if (group && group.mute_all && myRole(conv.id) === "member") text = "Everyone is muted in this group.";
  }
  note.textContent = text;
  note.hidden = !text;
}

/** Load a page of history before `anchor` (the latest page when null) and put it on top. */
async function loadPage(seq, anchor) {
  const conv = state.current;
  const count = Math.min(HISTORY_PAGE, state.info.limits.max_history_count || HISTORY_PAGE);
  const query = new URLSearchParams({ count: String(count) });
  if (anchor !== null) query.set("anchor", String(anchor));
  const status = $("history-status");
  status.textContent = "Loading…";
  let page;
  try {
    page = await api("GET", convPath(conv, `/messages?${query}`));
  } catch (err) {
    status.textContent = "";
    if (seq === state.convSeq) toast(err.message, "error");
    return;
  }
  if (seq !== state.convSeq) return;
  state.hasMore = page.has_more;
  const list = $("message-list");
  const before = list.scrollHeight - list.scrollTop;
  const fragment = document.createDocumentFragment();
  const fresh = [];
  for (const obj of page.messages) {
    if (state.messages.has(obj.message_id)) continue;
    if (obj.recalled) {
      if (list.querySelector(`.recalled[data-message-id="${obj.message_id}"]`)) continue;
      fragment.append(recalledNotice(conv, obj.user_id, obj.recalled.operator_id, obj.message_id));
      if (state.newestShown === null || obj.message_id > state.newestShown) state.newestShown = obj.message_id;
      continue;
    }
    fresh.push(obj);
    fragment.append(renderMessage(obj));
  }
  status.after(fragment);
  if (page.messages.length) state.oldestId = page.messages[0].message_id;
  status.textContent = state.hasMore ? "" : "This is the beginning of the conversation.";
  status.dataset.more = String(state.hasMore);
  if (anchor !== null) list.scrollTop = list.scrollHeight - before;
  loadReactions(fresh, seq);
}

async function loadOlder() {
  if (!state.current || !state.hasMore || state.loadingOlder || state.oldestId === null) return;
  state.loadingOlder = true;
  try {
    await loadPage(state.convSeq, state.oldestId);
  } finally {
    state.loadingOlder = false;
  }
}

/** History pages carry each message's reactions; a message without them (one from an older
 *  server, say) has its own asked for. */
async function loadReactions(objs, seq) {
  const queue = objs.filter((obj) => !obj.reactions).map((obj) => obj.message_id);
  for (const obj of objs) if (obj.reactions) setReactions(obj.message_id, obj.reactions);
  const worker = async () => {
    while (queue.length && seq === state.convSeq) {
      const id = queue.shift();
      try {
        const data = await api("GET", userPath(`/messages/${id}`), undefined, { retry: false });
        if (seq === state.convSeq) setReactions(id, data.reactions);
      } catch { /* recalled meanwhile: nothing to show */ }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

function setReactions(messageId, reactions) {
  const item = state.messages.get(messageId);
  if (!item) return;
  item.reactions = new Map(reactions.filter((r) => r.count > 0).map((r) => [String(r.emoji_id), r.count]));
  for (const r of reactions) if (r.mine) state.myReactions.add(`${messageId}:${r.emoji_id}`);
  renderReactions(item);
}

/** The grey line standing where a recalled message was (its content is never shown). */
function recalledNotice(conv, sender, operator, messageId) {
  let text;
  if (operator === null || operator === sender) text = `${nameIn(conv, sender)} recalled a message`;
  else text = `${nameIn(conv, operator)} recalled a message from ${nameIn(conv, sender)}`;
  return el("div", { class: "system recalled", "data-testid": "recalled-notice", "data-message-id": messageId }, text);
}

const readTimers = new Map(); // conversation key -> pending read mark

/** Mark the open conversation read, once for a burst of arrivals (per conversation, so
 *  leaving it at once still marks it). */
function markRead() {
  const conv = state.current;
  if (!conv || document.visibilityState === "hidden") return;
  clearTimeout(readTimers.get(conv.key));
  const path = convPath(conv, "/read");
  // Up to the newest message shown now: one that arrives after the user left this chat, while
  // the mark is on its way, must stay unread. Ids grow with the order within a conversation.
  const newest = state.newestShown;
  if (newest === null) return;
  readTimers.set(conv.key, setTimeout(async () => {
    readTimers.delete(conv.key);
    try {
      await api("POST", path, { message_id: newest });
    } catch (err) {
      console.warn("read", err);
    }
    scheduleRefresh();
  }, 80));
}

// --- rendering messages --------------------------------------------------------------------------

function isOwn(obj) {
  return Number(obj.sender ? obj.sender.user_id : obj.user_id) === state.me.uin;
}

function canRecall(obj) {
  if (isOwn(obj)) return true; // the server keeps the two-minute window
  const conv = state.current;
  if (!conv || conv.kind !== "group") return false;
  const mine = ROLE_RANK[myRole(conv.id)] || 1;
  const theirs = ROLE_RANK[obj.sender && obj.sender.role] || 1;
  return mine >= 2 && mine > theirs;
}

function renderMessage(obj) {
  const conv = state.current;
  const own = isOwn(obj);
  const sender = obj.sender || {};
  const name = own ? state.me.nickname : conv.kind === "group" ? sender.card || sender.nickname : sender.nickname || accountName(obj.user_id);
  const bubble = el("div", {
    class: "bubble", tabindex: "0", "data-testid": "message-bubble",
    "aria-label": `Message from ${name}; click to reply`,
    onclick: (event) => {
      if (event.target.closest("a, img, .quote")) return;
      setReply(obj);
    },
    onkeydown: (event) => { if (event.key === "Enter") setReply(obj); },
  });
  renderSegments(bubble, obj.message, conv);
  const meta = el("div", { class: "meta" },
    el("span", { class: "sender", "data-testid": "message-sender" }, name),
    conv.kind === "group" && sender.role && sender.role !== "member"
      ? el("span", { class: `pill role-${sender.role}` }, sender.role) : null,
    sender.title ? el("span", { class: "pill title" }, sender.title) : null,
    el("time", { datetime: new Date(obj.time * 1000).toISOString() }, formatTime(obj.time)));
  const reactions = el("div", { class: "reactions", "data-testid": "reactions" });
  const tools = el("div", { class: "tools", role: "toolbar", "aria-label": "Message actions" },
    el("button", { type: "button", class: "tool", "data-testid": "reply-button", "aria-label": "Reply", title: "Reply", onclick: () => setReply(obj) }, "\u21A9"),
    el("button", { type: "button", class: "tool", "data-testid": "react-button", "aria-label": "React", title: "React", "aria-haspopup": "true", onclick: (e) => openReactionPicker(e.currentTarget, obj) }, "\u263A"),
    !own && conv.kind === "group" ? el("button", { type: "button", class: "tool", "data-testid": "mention-sender-button", "aria-label": `Mention ${name}`, title: "Mention", onclick: () => insertMention(obj.user_id, name) }, "@") : null,
    !own && conv.kind === "group" ? el("button", { type: "button", class: "tool", "data-testid": "poke-button", "aria-label": `Poke ${name}`, title: "Poke", onclick: () => poke(obj.user_id, conv.id) }, "\u{1F449}") : null,
    canRecall(obj) ? el("button", { type: "button", class: "tool danger", "data-testid": "recall-button", "aria-label": "Recall", title: "Recall", onclick: () => recall(obj) }, "\u21B6") : null);
  const node = el("div", {
    class: `msg${own ? " own" : ""}`, "data-testid": "message", "data-message-id": obj.message_id,
    "data-sender": obj.user_id,
  }, avatar(name, obj.user_id), el("div", { class: "msg-body" }, meta, bubble, reactions), tools);
  const item = { obj, node, reactions: new Map() };
  state.messages.set(obj.message_id, item);
  if (state.newestShown === null || obj.message_id > state.newestShown) state.newestShown = obj.message_id;
  return node;
}

function renderSegments(container, segments, conv) {
  if (typeof segments === "string") {
    container.append(segments);
    return;
  }
  for (const seg of segments || []) {
    const data = seg.data || {};
    switch (seg.type) {
      case "text":
        container.append(document.createTextNode(String(data.text ?? "")));
        break;
      case "face": {
        const face = FACE_BY_ID.get(String(data.id));
        container.append(el("span", { class: "face", title: face ? `${face.name} (face ${data.id})` : `face ${data.id}`, "data-face": data.id }, emojiGlyph(data.id)));
        break;
      }
      case "at": {
        const label = data.qq === "all" ? "@all" : `@${data.name || nameIn(conv, data.qq)}`;
        container.append(el("span", { class: `mention${Number(data.qq) === state.me.uin || data.qq === "all" ? " me" : ""}`, "data-qq": data.qq }, label));
        break;
      }
      case "reply":
        container.prepend(renderQuote(String(data.id), conv));
        break;
      case "image": {
        const src = imageSrc(data);
        if (!src) {
          container.append(el("span", { class: "placeholder" }, "[Image]"));
          break;
        }
        container.append(el("a", { href: src, target: "_blank", rel: "noopener noreferrer", class: "image-link" },
          el("img", { src, alt: data.summary || "image", loading: "lazy", "data-testid": "message-image", referrerpolicy: "no-referrer" })));
        break;
      }
      case "file":
        container.append(el("span", { class: "placeholder" }, `[File] ${data.name || data.file || ""}`));
        break;
      case "markdown":
        container.append(document.createTextNode(String(data.content ?? "")));
        break;
      default:
        container.append(el("span", { class: "placeholder", title: JSON.stringify(data).slice(0, 300) }, SEGMENT_LABELS[seg.type] || `[${seg.type}]`));
    }
  }
}

const MEDIA_NAME = /^[A-Za-z0-9_-]{22}\.(png|jpg|gif|webp|bmp)$/;

/** Where an image segment's picture is, or null; only http(s), data and our own uploads. */
function imageSrc(data) {
  const file = String(data.file || "");
  if (MEDIA_NAME.test(file)) return `/api/v1/media/${file}`; // ours, whatever host we're reached by
  for (const candidate of [String(data.url || ""), file]) {
    if (/^https?:\/\//i.test(candidate)) return candidate;
    if (/^data:image\/[a-z0-9.+-]+;base64,/i.test(candidate)) return candidate;
    if (candidate.startsWith("base64://")) return `data:image/png;base64,${candidate.slice(9)}`;
  }
  return null;
}

function renderQuote(id, conv) {
  const quote = el("div", { class: "quote", role: "button", tabindex: "0", "data-testid": "quote", "data-reply-to": id,
    onclick: () => scrollToMessage(Number(id)) }, "…");
  fillQuote(quote, id, conv);
  return quote;
}

async function fillQuote(quote, id, conv) {
  const known = state.messages.get(Number(id));
  let obj = known && known.obj;
  if (!obj) {
    if (!state.quoteCache.has(id)) {
      state.quoteCache.set(id, api("GET", userPath(`/messages/${id}`), undefined, { retry: false })
        .then((d) => d.message).catch(() => null));
    }
    obj = await state.quoteCache.get(id);
  }
  clear(quote);
  if (!obj) {
    quote.append(el("span", { class: "muted" }, "Original message not available"));
    return;
  }
  const who = isOwn(obj) ? "You" : conv.kind === "group" ? obj.sender.card || obj.sender.nickname : obj.sender.nickname;
  quote.append(el("span", { class: "quote-name" }, who), ": ", previewText(obj.message, conv));
}

function scrollToMessage(id) {
  const item = state.messages.get(id);
  if (!item) return;
  item.node.scrollIntoView({ block: "center", behavior: "smooth" });
  item.node.classList.add("flash");
  setTimeout(() => item.node.classList.remove("flash"), 1200);
}

function renderReactions(item) {
  const box = item.node.querySelector(".reactions");
  if (!box) return;
  clear(box);
  for (const [emoji, count] of item.reactions) {
    const mine = state.myReactions.has(`${item.obj.message_id}:${emoji}`);
    box.append(el("button", {
      type: "button", class: `reaction${mine ? " mine" : ""}`, "data-testid": `reaction-${emoji}`,
      "aria-pressed": mine ? "true" : "false", "aria-label": `${emojiGlyph(emoji)} ${count}`,
      onclick: () => react(item.obj, emoji, !mine),
    }, el("span", { class: "reaction-emoji" }, emojiGlyph(emoji)), el("span", { class: "reaction-count" }, String(count))));
  }
}

function appendSystemLine(text) {
  const list = $("message-list");
  const near = nearBottom();
  list.append(el("div", { class: "system", "data-testid": "system-line" }, text));
  if (near) list.scrollTop = list.scrollHeight;
}

function nearBottom() {
  const list = $("message-list");
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function appendLiveMessage(obj) {
  if (state.messages.has(obj.message_id)) return;
  const list = $("message-list");
  const near = nearBottom() || isOwn(obj);
  list.append(renderMessage(obj));
  if (near) list.scrollTop = list.scrollHeight;
  else $("jump-new").hidden = false;
}
