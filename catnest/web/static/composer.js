// Acting in the open conversation: sending (text, faces, @, replies, images), recalling,
// reacting and poking.
"use strict";

// --- acting: send, reply, recall, react, poke ----------------------------------------------------

function setReply(obj) {
  state.reply = obj;
  const bar = $("reply-bar");
  bar.hidden = !obj;
  if (obj) {
    const conv = state.current;
    const who = isOwn(obj) ? "yourself" : conv.kind === "group" ? obj.sender.card || obj.sender.nickname : obj.sender.nickname;
    $("reply-label").textContent = `Replying to ${who}: ${previewText(obj.message, conv).slice(0, 80)}`;
    $("composer-input").focus();
  }
}

async function send() {
  const conv = state.current;
  if (!conv) return;
  const input = $("composer-input");
  const segments = collectSegments(input);
  for (const attachment of state.attachments) {
    if (attachment.file) segments.push({ type: "image", data: { file: attachment.file } });
  }
  if (!segments.length) return;
  if (state.attachments.some((a) => !a.file)) {
    toast("Wait for the images to finish uploading", "error");
    return;
  }
  if (state.reply) segments.unshift({ type: "reply", data: { id: String(state.reply.message_id) } });
  const body = { message: segments };
  if (conv.kind === "private" && conv.viaGroup) body.via_group = conv.viaGroup;
  const button = $("send-button");
  button.disabled = true;
  const sent = await guard(() => api("POST", convPath(conv, "/messages"), body));
  button.disabled = false;
  if (!sent) return;
  clear(input);
  setReply(null);
  clearAttachments();
  if (inCurrent(conv.key)) appendLiveMessage(sent.message);
  scheduleRefresh();
  input.focus();
}

async function recall(obj) {
  await guard(() => api("DELETE", userPath(`/messages/${obj.message_id}`)));
}

async function react(obj, emoji, add) {
  const result = await guard(() => api(add ? "PUT" : "DELETE", userPath(`/messages/${obj.message_id}/reactions/${emoji}`)));
  if (!result) return;
  const key = `${obj.message_id}:${emoji}`;
  if (add) state.myReactions.add(key);
  else state.myReactions.delete(key);
  const item = state.messages.get(obj.message_id);
  if (!item) return;
  if (result.count > 0) item.reactions.set(String(emoji), result.count);
  else item.reactions.delete(String(emoji));
  renderReactions(item);
}

async function poke(userId, groupId) {
  const body = { user_id: Number(userId) };
  if (groupId) body.group_id = Number(groupId);
  const done = await guard(async () => { await api("POST", userPath("/pokes"), body); return true; });
  // The open chat shows the poke as it happens; from a dialog over it, say so here.
  if (done && document.querySelector("dialog[open]")) toast(`You poked ${groupId ? memberName(groupId, userId) : accountName(userId)}`);
}

// --- the composer --------------------------------------------------------------------------------

let savedRange = null;

function rememberCaret() {
  const selection = document.getSelection();
  if (selection.rangeCount && $("composer-input").contains(selection.anchorNode)) {
    savedRange = selection.getRangeAt(0).cloneRange();
  }
}

/** Put `node` where the caret was in the composer (or at its end), caret after it. */
function insertAtCaret(node) {
  const input = $("composer-input");
  input.focus();
  const selection = document.getSelection();
  let range = savedRange && input.contains(savedRange.startContainer) ? savedRange : null;
  if (!range) {
    range = document.createRange();
    range.selectNodeContents(input);
    range.collapse(false);
  }
  range.deleteContents();
  range.insertNode(node);
  range.setStartAfter(node);
  range.collapse(true);
  selection.removeAllRanges();
  selection.addRange(range);
  savedRange = range.cloneRange();
}

function chip(segment, label, extraClass) {
  return el("span", { class: `chip ${extraClass}`, contenteditable: "false", dataset: { seg: JSON.stringify(segment) } }, label);
}

function insertFace(id) {
  insertAtCaret(chip({ type: "face", data: { id: String(id) } }, emojiGlyph(id), "face"));
}

function insertMention(uin, name) {
  const label = uin === "all" ? "@all" : `@${name}`;
  insertAtCaret(chip({ type: "at", data: { qq: String(uin) } }, label, "mention"));
  insertAtCaret(document.createTextNode(" "));
}

/** The composer's content as message segments: text, with faces and @ where they were put. */
function collectSegments(input) {
  const out = [];
  const pushText = (text) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.type === "text") last.data.text += text;
    else out.push({ type: "text", data: { text } });
  };
  const walk = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) pushText(child.data.replace(/\u200b/g, ""));
      else if (child.nodeType !== Node.ELEMENT_NODE) continue;
      else if (child.dataset.seg) out.push(JSON.parse(child.dataset.seg));
      else if (child.tagName === "BR") pushText("\n");
      else {
        const block = child.tagName === "DIV" || child.tagName === "P";
        const last = out[out.length - 1];
        if (block && last && !(last.type === "text" && last.data.text.endsWith("\n"))) pushText("\n");
        walk(child);
      }
    }
  };
  walk(input);
  // Trailing newlines (a line break the caret left behind) are not part of the message.
  while (out.length && out[out.length - 1].type === "text") {
    const last = out[out.length - 1];
    last.data.text = last.data.text.replace(/\s+$/, "");
    if (last.data.text) break;
    out.pop();
  }
  if (out.length && out[0].type === "text") {
    out[0].data.text = out[0].data.text.replace(/^\n+/, "");
    if (!out[0].data.text) out.shift();
  }
  return out;
}

function renderFacePicker() {
  const picker = $("face-picker");
  clear(picker);
  for (const [id, glyph, name] of FACES) {
    picker.append(el("button", {
      type: "button", class: "face-option", "data-testid": `face-option-${id}`, "aria-label": `${name} (face ${id})`, title: name,
      onclick: () => { insertFace(id); closePopovers(); },
    }, glyph));
  }
}

function renderMentionOptions() {
  const conv = state.current;
  const list = $("mention-options");
  clear(list);
  if (!conv || conv.kind !== "group") return;
  const filter = $("mention-filter").value.trim().toLowerCase();
  const options = [];
  if ((ROLE_RANK[myRole(conv.id)] || 1) >= 2) options.push({ uin: "all", name: "all", label: "@all (everyone)" });
  for (const member of state.members.get(conv.id)?.values() || []) {
    if (member.uin === state.me.uin) continue;
    const name = member.card || member.nickname;
    options.push({ uin: member.uin, name, label: `${name} (${member.uin})${member.is_bot ? " · bot" : ""}` });
  }
  for (const option of options) {
    if (filter && !option.label.toLowerCase().includes(filter)) continue;
    list.append(el("li", {}, el("button", {
      type: "button", "data-testid": `mention-option-${option.uin}`,
      onclick: () => { closePopovers(); insertMention(option.uin, option.name); },
    }, option.label)));
  }
}

function togglePopover(id, buttonId) {
  const popover = $(id);
  const opening = popover.hidden;
  closePopovers();
  if (!opening) return;
  popover.hidden = false;
  $(buttonId).setAttribute("aria-expanded", "true");
  if (id === "mention-picker") {
    $("mention-filter").value = "";
    renderMentionOptions();
    $("mention-filter").focus();
  }
}

function closePopovers() {
  for (const [id, buttonId] of [["face-picker", "face-button"], ["mention-picker", "mention-button"]]) {
    $(id).hidden = true;
    $(buttonId).setAttribute("aria-expanded", "false");
  }
  document.querySelectorAll(".reaction-picker").forEach((node) => node.remove());
}

function openReactionPicker(anchor, obj) {
  const open = anchor.parentElement.querySelector(".reaction-picker");
  closePopovers();
  if (open) return;
  const picker = el("div", { class: "reaction-picker", role: "dialog", "aria-label": "React", "data-testid": "reaction-picker" },
    REACTIONS.map((emoji) => el("button", {
      type: "button", "data-testid": `reaction-option-${emoji}`, "aria-label": `React ${emojiGlyph(emoji)}`,
      onclick: () => { closePopovers(); react(obj, emoji, true); },
    }, emojiGlyph(emoji))));
  anchor.parentElement.append(picker);
}

// --- images --------------------------------------------------------------------------------------

function clearAttachments() {
  for (const attachment of state.attachments) URL.revokeObjectURL(attachment.preview);
  state.attachments = [];
  renderAttachments();
}

function renderAttachments() {
  const box = $("attachments");
  clear(box);
  box.hidden = !state.attachments.length;
  for (const attachment of state.attachments) {
    box.append(el("div", { class: `attachment${attachment.file ? "" : " uploading"}`, "data-testid": "attachment" },
      el("img", { src: attachment.preview, alt: attachment.name }),
      el("button", {
        type: "button", class: "ghost icon", "aria-label": `Remove ${attachment.name}`,
        onclick: () => {
          state.attachments = state.attachments.filter((a) => a !== attachment);
          URL.revokeObjectURL(attachment.preview);
          renderAttachments();
        },
      }, "\u00D7")));
  }
}

async function attachFiles(files) {
  const limit = state.info && state.info.limits ? state.info.limits.max_upload_bytes : Infinity;
  for (const file of files) {
    if (!file.type.startsWith("image/")) {
      toast(`${file.name}: only images can be sent`, "error");
      continue;
    }
    if (file.size > limit) {
      toast(`${file.name}: larger than ${limit} bytes`, "error");
      continue;
    }
    const attachment = { name: file.name || "image", preview: URL.createObjectURL(file), file: null };
    state.attachments.push(attachment);
    renderAttachments();
    const form = new FormData();
    form.append("file", file, file.name || "image");
    const stored = await guard(() => api("POST", "/api/v1/media", form));
    if (stored) attachment.file = stored.file;
    else state.attachments = state.attachments.filter((a) => a !== attachment);
    renderAttachments();
  }
}
