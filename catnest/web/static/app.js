// Catnest's chat page: what a QQ user sees, over the user-side API. This file starts it:
// the token from the URL, the bots and users, the chosen user's stream, and every control's
// wiring. (The other scripts are listed in dom.js.)
"use strict";

// --- start-up ------------------------------------------------------------------------------------

function readTokenFromUrl() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const query = new URLSearchParams(location.search);
  const token = hash.get("token") || query.get("access_token");
  if (token) {
    state.token = token;
    localStorage.setItem(TOKEN_KEY, token);
    // Out of the address bar (and history) as soon as it is read.
    hash.delete("token");
    query.delete("access_token");
    const search = query.toString();
    const rest = hash.toString();
    history.replaceState(null, "", location.pathname + (search ? `?${search}` : "") + (rest ? `#${rest}` : ""));
  }
}

async function boot() {
  readTokenFromUrl();
  wireStaticControls();
  state.info = await api("GET", "/api/v1/info");
  await loadAccounts();
  renderBotTabs();
  const bots = state.info.bots || [];
  if (bots.length) selectBot(bots[0].uin);
  const remembered = Number(localStorage.getItem(USER_KEY));
  const user = state.accounts.get(remembered);
  if (user && !user.is_bot) await selectUser(user.uin);
  else openUserDialog();
}

async function loadAccounts() {
  const { users } = await api("GET", "/api/v1/users");
  state.accounts = new Map(users.map((a) => [a.uin, a]));
  renderUserSelect();
}

function renderUserSelect() {
  const select = $("user-select");
  clear(select);
  if (!state.me) select.append(el("option", { value: "" }, "— pick a user —"));
  for (const account of state.accounts.values()) {
    if (account.is_bot) continue;
    select.append(el("option", { value: account.uin, selected: state.me && state.me.uin === account.uin },
      `${account.nickname} (${account.uin})`));
  }
  select.disabled = false;
  const list = $("known-accounts");
  clear(list);
  for (const account of state.accounts.values()) {
    list.append(el("option", { value: account.uin }, account.nickname));
  }
}

function openUserDialog() {
  const picker = $("user-picker");
  clear(picker);
  for (const account of state.accounts.values()) {
    if (account.is_bot) continue;
    picker.append(el("li", {},
      el("button", {
        type: "button", class: "user-choice", "data-testid": `pick-user-${account.uin}`,
        "aria-current": state.me && state.me.uin === account.uin ? "true" : null,
        onclick: () => { $("user-dialog").close(); selectUser(account.uin); },
      }, avatar(account.nickname, account.uin), el("span", { class: "user-choice-name" }, account.nickname),
      el("span", { class: "muted" }, String(account.uin)))));
  }
  $("user-dialog-close").hidden = !state.me;
  const dialog = $("user-dialog");
  if (!dialog.open) dialog.showModal();
}

async function selectUser(uin) {
  if (state.stream) state.stream.close();
  state.stream = null;
  state.me = state.accounts.get(Number(uin));
  localStorage.setItem(USER_KEY, String(uin));
  renderUserSelect();
  closeConversation();
  state.members.clear();
  state.myReactions.clear();
  state.quoteCache.clear();
  document.title = `${state.me.nickname} · Catnest`;
  const cursor = await refreshConversations();
  await Promise.all([loadFriends(), loadGroups()]);
  setConnection("connecting");
  state.stream = openStream(userPath(`/stream?after=${encodeURIComponent(cursor || "")}`), onUserEvent,
    { onState: setConnection });
}

function setConnection(what) {
  const node = $("conn");
  node.dataset.state = what;
  node.textContent = { live: "live", retrying: "reconnecting…", connecting: "connecting…" }[what] || what;
}

// --- wiring --------------------------------------------------------------------------------------

function wireStaticControls() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    localStorage.setItem(TOKEN_KEY, state.token);
    $("token-dialog").close();
    const waiters = tokenWaiters || [];
    tokenWaiters = null;
    waiters.forEach((resolve) => resolve());
  });
  $("token-dialog").addEventListener("cancel", (event) => event.preventDefault());

  $("user-select").addEventListener("change", (event) => {
    const uin = Number(event.target.value);
    if (uin) guard(() => selectUser(uin));
  });
  $("switch-user").addEventListener("click", openUserDialog);
  $("user-dialog-close").addEventListener("click", () => $("user-dialog").close());
  $("user-dialog").addEventListener("cancel", (event) => { if (!state.me) event.preventDefault(); });
  $("new-user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { nickname: $("new-user-nickname").value.trim() };
    const uin = $("new-user-uin").value.trim();
    if (uin) body.uin = Number(uin);
    const account = await guard(() => api("POST", "/api/v1/users", body));
    if (!account) return;
    $("new-user-form").reset();
    $("user-dialog").close();
    await loadAccounts();
    await guard(() => selectUser(account.uin));
    toast(`Created ${account.nickname} (${account.uin})`);
  });

  $("tab-chats").addEventListener("click", () => showTab("chats"));
  $("tab-contacts").addEventListener("click", () => showTab("contacts"));
  $("chat-back").addEventListener("click", () => { $("layout").dataset.view = "list"; });
  $("traffic-toggle").addEventListener("click", () => {
    const layout = $("layout");
    const shown = layout.dataset.traffic !== "hidden" && (layout.dataset.traffic === "shown" || matchMedia("(min-width: 1100px)").matches);
    layout.dataset.traffic = shown ? "hidden" : "shown";
    $("traffic-toggle").setAttribute("aria-pressed", String(!shown));
  });
  $("traffic-toggle").setAttribute("aria-pressed", String(matchMedia("(min-width: 1100px)").matches));

  $("add-friend-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const userId = Number($("add-friend-input").value.trim());
    const friend = await guard(() => api("POST", userPath("/friends"), { user_id: userId }));
    if (!friend) return;
    $("add-friend-input").value = "";
    await loadFriends();
    toast(`You and ${friend.nickname} are now friends`);
  });
  $("request-friend").addEventListener("click", async () => {
    const input = $("add-friend-input");
    if (!input.reportValidity()) return;
    const sent = await guard(() => api("POST", userPath("/friend-requests"), { user_id: Number(input.value.trim()) }));
    if (sent) { input.value = ""; toast("Friend request sent"); }
  });
  $("join-group-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("join-group-input");
    const sent = await guard(() => api("POST", userPath("/group-requests"), { group_id: Number(input.value.trim()) }));
    if (sent) { input.value = ""; toast("Join request sent"); }
  });
  $("create-group-open").addEventListener("click", openCreateGroup);
  $("create-group-cancel").addEventListener("click", () => $("create-group-dialog").close());
  $("create-group-form").addEventListener("submit", submitCreateGroup);

  $("group-settings").addEventListener("click", openGroupDialog);
  $("group-dialog-close").addEventListener("click", () => $("group-dialog").close());
  $("group-rename-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const groupId = Number($("group-dialog").dataset.group);
    await guard(() => api("PATCH", userPath(`/groups/${groupId}`), { name: $("group-name-input").value.trim() }));
    await guard(loadGroups);
    renderGroupDialog();
  });
  $("group-mute-all").addEventListener("change", async (event) => {
    const groupId = Number($("group-dialog").dataset.group);
    await guard(() => api("PATCH", userPath(`/groups/${groupId}`), { mute_all: event.target.checked }));
    await guard(loadGroups);
    renderGroupDialog();
    updateMuteNote();
  });
  $("add-member-form").addEventListener("submit", (event) => { event.preventDefault(); addMember(false); });
  $("invite-member").addEventListener("click", () => addMember(true));
  $("leave-group").addEventListener("click", async () => {
    const groupId = Number($("group-dialog").dataset.group);
    const owner = myRole(groupId) === "owner";
    if (!confirm(owner ? "Dismiss this group for everyone?" : "Leave this group?")) return;
    const done = await guard(async () => { await api("DELETE", userPath(`/groups/${groupId}${owner ? "?dismiss=true" : ""}`)); return true; });
    if (!done) return;
    $("group-dialog").close();
    closeConversation();
    await guard(loadGroups);
    scheduleRefresh();
  });

  $("poke-peer").addEventListener("click", () => state.current && poke(state.current.id, null));

  const input = $("composer-input");
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      document.execCommand("insertLineBreak");
    } else if (event.key === "Escape") {
      setReply(null);
    }
  });
  input.addEventListener("paste", (event) => {
    const files = [...event.clipboardData.files].filter((f) => f.type.startsWith("image/"));
    event.preventDefault();
    if (files.length) attachFiles(files);
    else document.execCommand("insertText", false, event.clipboardData.getData("text/plain"));
  });
  input.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer?.files || [])].filter((f) => f.type.startsWith("image/"));
    event.preventDefault();
    if (files.length) attachFiles(files);
  });
  document.addEventListener("selectionchange", rememberCaret);
  $("send-button").addEventListener("click", send);
  $("reply-cancel").addEventListener("click", () => setReply(null));
  $("face-button").addEventListener("click", () => togglePopover("face-picker", "face-button"));
  $("mention-button").addEventListener("click", () => togglePopover("mention-picker", "mention-button"));
  $("mention-filter").addEventListener("input", renderMentionOptions);
  $("image-button").addEventListener("click", () => $("image-input").click());
  $("image-input").addEventListener("change", (event) => {
    const files = [...event.target.files];
    event.target.value = "";
    attachFiles(files);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".popover, .reaction-picker, #face-button, #mention-button, [data-testid=react-button]")) closePopovers();
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closePopovers(); });
  renderFacePicker();

  const list = $("message-list");
  list.addEventListener("scroll", () => {
    if (list.scrollTop < 120) loadOlder();
    if (nearBottom()) $("jump-new").hidden = true;
  });
  $("jump-new").addEventListener("click", () => {
    list.scrollTop = list.scrollHeight;
    $("jump-new").hidden = true;
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") markRead(); });

  $("traffic-filter").addEventListener("input", refilterTraffic);
  $("traffic-heartbeats").addEventListener("change", refilterTraffic);
  $("traffic-pause").addEventListener("click", (event) => {
    const traffic = state.traffic;
    traffic.paused = !traffic.paused;
    event.currentTarget.setAttribute("aria-pressed", String(traffic.paused));
    event.currentTarget.textContent = traffic.paused ? "Resume" : "Pause";
    if (!traffic.paused) {
      traffic.held.forEach(addTraffic);
      traffic.held = [];
    }
  });
  $("traffic-clear").addEventListener("click", () => {
    state.traffic.entries = [];
    clear($("traffic-list"));
    updateTrafficEmpty();
  });
}

boot().catch((err) => {
  console.error(err);
  toast(`Could not start: ${err.message}`, "error");
});
