// Creating groups and managing one: name, whole-group mute, members, admins, cards and mutes.
"use strict";

// --- contacts and groups: forms and the group dialog ---------------------------------------------

function showTab(which) {
  const chats = which === "chats";
  $("tab-chats").setAttribute("aria-selected", String(chats));
  $("tab-contacts").setAttribute("aria-selected", String(!chats));
  $("conversation-panel").hidden = !chats;
  $("contacts-panel").hidden = chats;
}

function openCreateGroup() {
  const list = $("create-group-members");
  clear(list);
  for (const account of state.accounts.values()) {
    if (account.uin === state.me.uin) continue;
    const id = `cg-${account.uin}`;
    list.append(el("li", {},
      el("input", { type: "checkbox", id, value: account.uin, "data-testid": `create-group-member-${account.uin}` }),
      el("label", { for: id }, `${account.nickname} (${account.uin})`, account.is_bot ? el("span", { class: "pill" }, "bot") : null)));
  }
  $("create-group-form").reset();
  $("create-group-dialog").showModal();
  $("create-group-name").focus();
}

async function submitCreateGroup(event) {
  event.preventDefault();
  const members = [...$("create-group-members").querySelectorAll("input:checked")].map((i) => Number(i.value));
  const body = { name: $("create-group-name").value.trim(), members };
  const id = $("create-group-id").value.trim();
  if (id) body.group_id = Number(id);
  const group = await guard(() => api("POST", userPath("/groups"), body));
  if (!group) return;
  $("create-group-dialog").close();
  await loadGroups();
  toast(`Created group ${group.name} (${group.group_id})`);
  openConversation({ kind: "group", id: group.group_id, name: group.name });
}

async function openGroupDialog() {
  const conv = state.current;
  if (!conv || conv.kind !== "group") return;
  const dialog = $("group-dialog");
  dialog.dataset.group = String(conv.id);
  await guard(async () => { await loadGroups(); await loadMembers(conv.id); });
  renderGroupDialog();
  if (!dialog.open) dialog.showModal();
}

const MUTE_CHOICES = [[60, "1 min"], [600, "10 min"], [3600, "1 hour"], [86400, "1 day"], [2592000, "30 days"]];

function renderGroupDialog() {
  const groupId = Number($("group-dialog").dataset.group);
  const group = state.groups.get(groupId);
  if (!group) {
    $("group-dialog").close();
    return;
  }
  const role = myRole(groupId);
  const rank = ROLE_RANK[role] || 1;
  $("group-dialog-title").textContent = `${group.name} · ${groupId}`;
  $("group-name-input").value = group.name;
  $("group-settings-section").classList.toggle("readonly", rank < 2);
  $("group-name-input").disabled = rank < 2;
  $("group-rename-form").querySelector("button").disabled = rank < 2;
  $("group-mute-all").checked = Boolean(group.mute_all);
  $("group-mute-all").disabled = rank < 2;
  $("leave-group").textContent = role === "owner" ? "Dismiss group" : "Leave group";
  const rows = $("member-rows");
  const kept = keepEdits(rows);
  clear(rows);
  const members = [...(state.members.get(groupId)?.values() || [])]
    .sort((a, b) => (ROLE_RANK[b.role] - ROLE_RANK[a.role]) || a.uin - b.uin);
  const now = Date.now() / 1000;
  for (const member of members) {
    const self = member.uin === state.me.uin;
    const manage = rank >= 2 && rank > (ROLE_RANK[member.role] || 1);
    const muted = member.muted_until > now;
    const cardInput = el("input", {
      value: member.card, placeholder: "(no card)", maxlength: "128", "aria-label": `Card of ${member.nickname}`,
      "data-testid": `card-input-${member.uin}`, disabled: !(self || manage),
    });
    const durations = el("select", { "aria-label": `Mute duration for ${member.nickname}`, "data-testid": `mute-duration-${member.uin}` },
      MUTE_CHOICES.map(([seconds, label]) => el("option", { value: seconds }, label)));
    rows.append(el("tr", { "data-testid": `member-${member.uin}` },
      el("th", { scope: "row" }, el("div", { class: "member-cell" }, avatar(member.card || member.nickname, member.uin),
        el("div", {}, el("div", {}, member.nickname, member.is_bot ? el("span", { class: "pill" }, "bot") : null, self ? el("span", { class: "pill" }, "you") : null),
          el("div", { class: "muted" }, String(member.uin))))),
      el("td", {}, el("span", { class: `pill role-${member.role}`, "data-testid": `member-role-${member.uin}` }, member.role),
        role === "owner" && member.role !== "owner" ? el("button", {
          type: "button", class: "ghost small", "data-testid": `admin-toggle-${member.uin}`,
          onclick: () => memberAction(groupId, member.uin, member.role === "admin" ? "DELETE" : "PUT", "/admin"),
        }, member.role === "admin" ? "Remove admin" : "Make admin") : null),
      el("td", {}, el("form", {
        class: "inline-form tight",
        onsubmit: (e) => { e.preventDefault(); memberAction(groupId, member.uin, "PUT", "/card", { card: cardInput.value }); },
      }, cardInput, self || manage ? el("button", { type: "submit", class: "ghost small", "data-testid": `card-save-${member.uin}` }, "Set") : null)),
      el("td", { "data-testid": `member-mute-${member.uin}` }, muted ? el("span", { class: "muted" }, `until ${formatTime(member.muted_until)}`) : null,
        manage && !muted ? el("span", { class: "inline-form tight" }, durations, el("button", {
          type: "button", class: "ghost small", "data-testid": `mute-${member.uin}`,
          onclick: () => memberAction(groupId, member.uin, "PUT", "/mute", { duration: Number(durations.value) }),
        }, "Mute")) : null,
        manage && muted ? el("button", {
          type: "button", class: "ghost small", "data-testid": `unmute-${member.uin}`,
          onclick: () => memberAction(groupId, member.uin, "DELETE", "/mute"),
        }, "Unmute") : null),
      el("td", { class: "row-end" }, !self ? el("button", {
        type: "button", class: "ghost small", "data-testid": `member-poke-${member.uin}`,
        onclick: () => poke(member.uin, groupId),
      }, "Poke") : null, manage ? el("button", {
        type: "button", class: "danger small", "data-testid": `kick-${member.uin}`,
        onclick: () => { if (confirm(`Remove ${member.nickname} from the group?`)) memberAction(groupId, member.uin, "DELETE", ""); },
      }, "Remove") : null)));
  }
  kept();
}

/** The table re-renders on every change in the group: keep what the person was choosing or
 *  typing (and where), and put it back once the new rows are in. */
function keepEdits(container) {
  const values = new Map();
  for (const node of container.querySelectorAll("select, input")) {
    if (node.tagName === "SELECT" || node.value !== node.defaultValue) values.set(node.dataset.testid, node.value);
  }
  const focused = container.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  return () => {
    for (const node of container.querySelectorAll("select, input")) {
      if (values.has(node.dataset.testid) && !node.disabled) node.value = values.get(node.dataset.testid);
    }
    if (focused) container.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
  };
}

async function memberAction(groupId, uin, method, suffix, body) {
  const done = await guard(async () => {
    await api(method, userPath(`/groups/${groupId}/members/${uin}${suffix}`), body);
    return true;
  });
  await guard(async () => { await loadGroups(); await loadMembers(groupId); });
  renderGroupDialog();
  if (inCurrent(convKey("group", groupId))) updateChatHeader();
  return done;
}

async function addMember(invite) {
  const groupId = Number($("group-dialog").dataset.group);
  const input = $("add-member-input");
  if (!input.reportValidity()) return;
  const userId = Number(input.value.trim());
  const result = await guard(() => api("POST", userPath(`/groups/${groupId}/members`), { user_id: userId, invite }));
  if (result === undefined) return;
  input.value = "";
  if (invite) toast(`Invited ${accountName(userId)}`);
  await guard(async () => { await loadGroups(); await loadMembers(groupId); });
  renderGroupDialog();
}
