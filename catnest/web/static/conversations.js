// The left column (recent conversations, as get_recent_contact gives them; friends and groups)
// and the user's live events, which keep it and the open chat current.
"use strict";

// --- conversations list --------------------------------------------------------------------------

let refreshTimer = null;
let refreshing = null;
let refreshSeq = 0;

/** Reload the conversation list (as get_recent_contact gives it); the feed cursor it carries. */
async function refreshConversations() {
  const me = state.me;
  // Refreshes may overlap (an opened chat, a burst of events): only the latest one started may
  // draw the list, or an answer read before a new message could hide its unread badge.
  const seq = ++refreshSeq;
  const limit = state.info.limits.max_recent_contacts;
  const data = await api("GET", userPath(`/conversations?count=${Math.min(100, limit)}`));
  if (state.me !== me || seq !== refreshSeq) return data.cursor;
  state.conversations = data.conversations;
  renderConversations();
  return data.cursor;
}

/** Coalesce the refreshes a burst of events asks for into one. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshing = (refreshing || Promise.resolve())
      .then(() => refreshConversations())
      .catch((err) => console.warn(err));
  }, 120);
}

function entryConv(entry) {
  const id = Number(entry.peerUin);
  if (entry.chatType === 2) return { kind: "group", id };
  const last = entry.lastestMsg || {};
  const viaGroup = entry.chatType === 100 ? last.group_id || null : null;
  return { kind: "private", id, viaGroup };
}

function renderConversations() {
  const list = $("conversation-list");
  clear(list);
  $("conversation-empty").hidden = state.conversations.length > 0;
  for (const entry of state.conversations) {
    const conv = entryConv(entry);
    const key = convKey(conv.kind, conv.id);
    const isOpen = state.current && state.current.key === key;
    const name = entry.remark || entry.peerName || entry.peerUin;
    const last = entry.lastestMsg || {};
    let preview = previewText(last.message, conv);
    if (conv.kind === "group") {
      const who = Number(last.user_id) === state.me.uin ? "You" : entry.sendMemberName || entry.sendNickName;
      if (who) preview = `${who}: ${preview}`;
    }
    // The open conversation is being read as it arrives: QQ shows no badge for it.
    const unread = isOpen ? 0 : Number(entry.unreadCnt || 0);
    list.append(el("li", {},
      el("button", {
        type: "button", class: "conv", "data-testid": `conversation-${conv.kind}-${conv.id}`,
        "aria-current": isOpen ? "true" : null,
        "aria-label": `${name}${unread ? `, ${unread} unread` : ""}`,
        onclick: () => openConversation({ ...conv, name }),
      },
      avatar(name, conv.id, conv.kind === "group" ? "group" : ""),
      el("div", { class: "conv-main" },
        el("div", { class: "conv-top" },
          el("span", { class: "conv-name", "data-testid": "conversation-name" }, name),
          el("time", { class: "conv-time" }, formatTime(entry.msgTime))),
        el("div", { class: "conv-bottom" },
          el("span", { class: "conv-preview", "data-testid": "conversation-preview" }, preview),
          unread > 0 ? el("span", { class: "badge", "data-testid": "unread-badge" }, unread > 99 ? "99+" : String(unread)) : null)))));
  }
}

// --- contacts ------------------------------------------------------------------------------------

async function loadFriends() {
  const { friends } = await api("GET", userPath("/friends"));
  state.friends = friends;
  for (const friend of friends) state.accounts.set(friend.uin, { ...state.accounts.get(friend.uin), ...friend });
  const list = $("friend-list");
  clear(list);
  if (!friends.length) list.append(el("li", { class: "empty-note" }, "No friends yet."));
  for (const friend of friends) {
    const name = friend.remark || friend.nickname;
    list.append(el("li", { class: "contact" },
      el("button", {
        type: "button", class: "contact-open", "data-testid": `friend-${friend.uin}`,
        onclick: () => openConversation({ kind: "private", id: friend.uin, name }),
      }, avatar(name, friend.uin), el("span", { class: "contact-name" }, name),
      friend.is_bot ? el("span", { class: "pill" }, "bot") : null,
      el("span", { class: "muted" }, String(friend.uin))),
      el("button", {
        type: "button", class: "ghost icon", "aria-label": `Remove friend ${name}`,
        "data-testid": `unfriend-${friend.uin}`,
        onclick: () => guard(async () => {
          if (!confirm(`Remove ${name} from your friends?`)) return;
          await api("DELETE", userPath(`/friends/${friend.uin}`));
          await loadFriends();
        }),
      }, "\u00D7")));
  }
}

async function loadGroups() {
  const { groups } = await api("GET", userPath("/groups"));
  state.groups = new Map(groups.map((g) => [g.group_id, g]));
  const list = $("group-list");
  clear(list);
  if (!groups.length) list.append(el("li", { class: "empty-note" }, "In no group yet."));
  for (const group of groups) {
    list.append(el("li", { class: "contact" },
      el("button", {
        type: "button", class: "contact-open", "data-testid": `group-${group.group_id}`,
        onclick: () => openConversation({ kind: "group", id: group.group_id, name: group.name }),
      }, avatar(group.name, group.group_id, "group"), el("span", { class: "contact-name" }, group.name),
      group.role !== "member" ? el("span", { class: `pill role-${group.role}` }, group.role) : null,
      el("span", { class: "muted" }, `${group.member_count} members`))));
  }
  if (state.current && state.current.kind === "group") updateChatHeader();
}

// Member lists load in the background while events patch the cached one (patchMember): a
// list asked for before the latest patch is older than the cache and is dropped (the reload
// that event started brings the newer one).
let memberEpoch = 0;
const patchedAt = new Map(); // group_id -> epoch of its latest patch

async function loadMembers(groupId) {
  const started = memberEpoch;
  const { members } = await api("GET", userPath(`/groups/${groupId}/members`));
  if ((patchedAt.get(Number(groupId)) || 0) > started) return members;
  state.members.set(Number(groupId), new Map(members.map((m) => [m.uin, m])));
  return members;
}

function myRole(groupId) {
  const me = state.members.get(Number(groupId))?.get(state.me.uin);
  return (me && me.role) || state.groups.get(Number(groupId))?.role || "member";
}

// --- user events ---------------------------------------------------------------------------------

function eventConvKey(conv) {
  if (!conv) return null;
  return conv.type === "group" ? convKey("group", conv.group_id) : convKey("private", conv.peer_id);
}

function inCurrent(key) {
  return state.current && state.current.key === key;
}

function onUserEvent(event) {
  switch (event.type) {
    case "reset": onReset(); break;
    case "message": onMessage(event); break;
    case "recall": onRecall(event); break;
    case "reaction": onReaction(event); break;
    case "poked": onPoke(event); break;
    case "friend_added":
      loadFriends().catch(console.warn);
      if ([event.user_id, event.friend_id].includes(state.me.uin)) toast(`You and ${accountName(event.user_id === state.me.uin ? event.friend_id : event.user_id)} are now friends`);
      break;
    case "friend_requested":
      if (event.target_id === state.me.uin) toast(`${accountName(event.user_id)} asked to be your friend`);
      break;
    case "group_requested":
      if (event.user_id !== state.me.uin) toast(`${accountName(event.user_id)} asks to join group ${event.group_id}`);
      break;
    case "profile_liked":
      if (event.target_id === state.me.uin) toast(`${event.operator_nick || accountName(event.operator_id)} liked your profile`);
      break;
    default:
      if (event.group_id) onGroupEvent(event);
  }
}

function onReset() {
  // Events were missed: reload what the page shows.
  scheduleRefresh();
  if (state.current) {
    const conv = state.current;
    state.current = null;
    openConversation(conv);
  }
}

function onMessage(event) {
  const key = eventConvKey(event.conversation);
  if (inCurrent(key)) {
    appendLiveMessage(event.message);
    if (event.sender_id !== state.me.uin) markRead();
  }
  scheduleRefresh();
}

function onRecall(event) {
  const item = state.messages.get(event.message_id);
  if (item) {
    const notice = recalledNotice(state.current, item.obj.user_id, event.operator, event.message_id);
    item.node.replaceWith(notice);
    state.messages.delete(event.message_id);
  }
  scheduleRefresh();
}

function onReaction(event) {
  if (event.user_id === state.me.uin) {
    const key = `${event.message_id}:${event.emoji_id}`;
    if (event.added) state.myReactions.add(key);
    else state.myReactions.delete(key);
  }
  const item = state.messages.get(event.message_id);
  if (!item) return;
  if (event.count > 0) item.reactions.set(String(event.emoji_id), event.count);
  else item.reactions.delete(String(event.emoji_id));
  renderReactions(item);
}

function onPoke(event) {
  const me = state.me.uin;
  const key = event.group_id ? convKey("group", event.group_id)
    : convKey("private", event.user_id === me ? event.target_id : event.user_id);
  const conv = state.current;
  const who = nameIn(inCurrent(key) ? conv : null, event.user_id);
  const whom = event.target_id === me ? "you" : nameIn(inCurrent(key) ? conv : null, event.target_id);
  const text = `${who} poked ${whom}`;
  if (inCurrent(key)) appendSystemLine(text);
  else if (event.target_id === me) toast(text);
}

const GROUP_EVENT_TEXT = {
  member_joined: (e, n) => `${n(e.user_id)} joined the group`,
  member_left: (e, n) => (e.kicked ? `${n(e.operator_id)} removed ${n(e.user_id)}` : `${n(e.user_id)} left the group`),
  admin_changed: (e, n) => `${n(e.user_id)} ${e.is_set ? "is now an admin" : "is no longer an admin"}`,
  member_muted: (e, n) => {
    if (e.user_id === 0) return e.duration ? `${n(e.operator_id)} muted everyone` : `${n(e.operator_id)} unmuted everyone`;
    return e.duration ? `${n(e.operator_id)} muted ${n(e.user_id)} for ${humanDuration(e.duration)}` : `${n(e.operator_id)} unmuted ${n(e.user_id)}`;
  },
  card_changed: (e, n) => `${n(e.user_id)}'s card is now “${e.card_new || "(none)"}”`,
  title_changed: (e, n) => `${n(e.user_id)} got the title “${e.title}”`,
  group_renamed: (e, n) => `${n(e.operator_id)} renamed the group to “${e.name}”`,
  essence_changed: (e, n) => `${n(e.operator_id)} ${e.added ? "set" : "removed"} an essence message`,
};

async function onGroupEvent(event) {
  const groupId = Number(event.group_id);
  const key = convKey("group", groupId);
  const describe = GROUP_EVENT_TEXT[event.type];
  // Name people before the member list reloads (a removed member is still in it).
  const names = (uin) => (Number(uin) === state.me.uin ? "You" : memberName(groupId, uin));
  const text = describe ? describe(event, names) : null;
  if (text && inCurrent(key)) appendSystemLine(text);
  patchMember(groupId, event);
  if (event.type === "member_left" && event.user_id === state.me.uin) {
    toast(event.kicked ? `You were removed from group ${groupId}` : `You left group ${groupId}`);
    if (inCurrent(key)) closeConversation();
  }
  try {
    await loadGroups();
    if (state.members.has(groupId) || inCurrent(key)) await loadMembers(groupId);
  } catch (err) {
    console.warn(err);
  }
  if (inCurrent(key)) updateChatHeader();
  if ($("group-dialog").open && Number($("group-dialog").dataset.group) === groupId) renderGroupDialog();
  scheduleRefresh();
}

/** Apply what an event says to the cached member at once, so the next event's line already
 *  names people as they now are (the full reload that follows is asynchronous). */
function patchMember(groupId, event) {
  const member = state.members.get(groupId)?.get(Number(event.user_id));
  if (!member) return;
  patchedAt.set(groupId, ++memberEpoch);
  if (event.type === "card_changed") member.card = event.card_new;
  else if (event.type === "admin_changed") member.role = event.is_set ? "admin" : "member";
  else if (event.type === "member_muted") member.muted_until = event.duration ? Date.now() / 1000 + event.duration : 0;
}

function humanDuration(seconds) {
  const units = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const n = Math.round(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}
