// The chat page's building blocks: DOM helpers, faces and emoji, toasts, names and formatting.
//
// The page is plain scripts sharing one global scope, loaded in order by index.html (dom.js,
// api.js, conversations.js, messages.js, composer.js, groups.js, traffic.js, then app.js,
// which starts it). Every message, name and traffic entry is data: it reaches the DOM through
// textContent and attributes only (the `el` helper), never through innerHTML.
"use strict";

// --- small DOM helpers ---------------------------------------------------------------------------

/** Create an element: attrs (class, dataset, on* handlers, other attributes) and children
 *  (nodes or strings, which become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

// --- faces and emoji -----------------------------------------------------------------------------

// A few classic QQ faces, shown as the closest emoji (the page ships no face images).
const FACES = [
  ["14", "\u{1F642}", "smile"], ["13", "\u{1F601}", "grin"], ["182", "\u{1F602}", "laugh-cry"],
  ["178", "\u{1F60F}", "smirk"], ["5", "\u{1F622}", "tears"], ["4", "\u{1F60E}", "cool"],
  ["212", "\u{1F914}", "chin on hand"], ["179", "\u{1F436}", "doge"], ["307", "\u{1F431}", "meow"],
  ["277", "\u{1F415}", "woof"], ["271", "\u{1F349}", "melon"], ["66", "\u{2764}\u{FE0F}", "heart"],
  ["76", "\u{1F44D}", "thumbs up"], ["63", "\u{1F339}", "rose"], ["124", "\u{1F44C}", "OK"],
  ["74", "\u{2600}\u{FE0F}", "sun"],
];
const FACE_BY_ID = new Map(FACES.map(([id, glyph, name]) => [id, { glyph, name }]));
// Reactions go by emoji code point (QQ's emoji_type 2) or face id.
const REACTIONS = ["128077", "10084", "128514", "127881", "128558", "128591"];

function emojiGlyph(id) {
  const face = FACE_BY_ID.get(String(id));
  if (face) return face.glyph;
  const n = Number(id);
  if (Number.isInteger(n) && n > 0x7f && n <= 0x10ffff) {
    try { return String.fromCodePoint(n); } catch { /* not a code point */ }
  }
  return `[face ${id}]`;
}

// --- toasts and guarded actions ------------------------------------------------------------------

function toast(message, kind = "info") {
  const node = el("div", { class: `toast ${kind}`, "data-testid": `toast-${kind}` }, message);
  $("toasts").append(node);
  setTimeout(() => node.remove(), kind === "error" ? 6000 : 3500);
}

/** Run a user's action; a refusal becomes a toast with the server's own words. */
async function guard(action) {
  try {
    return await action();
  } catch (err) {
    toast(err instanceof ApiFailure ? err.message : `Something went wrong: ${err.message}`, "error");
    return undefined;
  }
}

// --- names and formatting ------------------------------------------------------------------------

function accountName(uin) {
  const account = state.accounts.get(Number(uin));
  return account ? account.nickname : String(uin);
}

function memberName(groupId, uin) {
  const member = state.members.get(Number(groupId))?.get(Number(uin));
  if (member) return member.card || member.nickname;
  return accountName(uin);
}

function nameIn(conv, uin) {
  if (Number(uin) === state.me.uin) return "You";
  return conv && conv.kind === "group" ? memberName(conv.id, uin) : accountName(uin);
}

function formatTime(seconds) {
  const when = new Date(Number(seconds) * 1000);
  const now = new Date();
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  if (when.toDateString() === now.toDateString()) return time;
  const day = when.toLocaleDateString([], { month: "short", day: "numeric" });
  return when.getFullYear() === now.getFullYear() ? `${day} ${time}` : when.toLocaleDateString();
}

const PALETTE = ["#2f88ff", "#13a89e", "#f5a623", "#e5484d", "#8e4ec6", "#3aa655", "#d6409f", "#0091a7"];

function avatar(name, uin, extraClass = "") {
  const initial = (Array.from((name || "?").trim())[0] || "?").toUpperCase();
  const node = el("div", { class: `avatar ${extraClass}`, "aria-hidden": "true" }, initial);
  node.style.backgroundColor = PALETTE[Math.abs(Number(uin) || 0) % PALETTE.length];
  return node;
}

/** A one-line preview of message segments (conversation list, quotes). */
function previewText(segments, conv) {
  if (typeof segments === "string") return segments;
  const parts = [];
  for (const seg of segments || []) {
    const data = seg.data || {};
    switch (seg.type) {
      case "text": parts.push(data.text || ""); break;
      case "face": parts.push(emojiGlyph(data.id)); break;
      case "at": parts.push(data.qq === "all" ? "@all " : `@${data.name || nameIn(conv, data.qq)} `); break;
      case "reply": break;
      case "image": parts.push(data.summary && data.summary !== "[图片]" ? data.summary : "[Image]"); break;
      default: parts.push(SEGMENT_LABELS[seg.type] || `[${seg.type}]`);
    }
  }
  return parts.join("").replace(/\s+/g, " ").trim();
}

const SEGMENT_LABELS = {
  record: "[Voice]", video: "[Video]", file: "[File]", forward: "[Chat history]", json: "[Card]",
  xml: "[Card]", poke: "[Poke]", dice: "[Dice]", rps: "[Rock paper scissors]", music: "[Music]",
  share: "[Link]", contact: "[Contact]", location: "[Location]", mface: "[Sticker]",
  markdown: "[Markdown]", node: "[Chat history]",
};
