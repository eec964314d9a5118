// The second pane: each bot's live OneBot traffic (actions called with params and results,
// events pushed), newest first.
"use strict";

// --- the traffic pane ----------------------------------------------------------------------------

const MAX_TRAFFIC = 500;

function renderBotTabs() {
  const tabs = $("bot-tabs");
  clear(tabs);
  for (const bot of state.info.bots || []) {
    tabs.append(el("button", {
      type: "button", role: "tab", class: "bot-tab", "data-testid": `traffic-bot-${bot.uin}`,
      "aria-selected": String(state.traffic.bot === bot.uin), onclick: () => selectBot(bot.uin),
    }, `${bot.nickname} (${bot.uin})`));
  }
}

async function selectBot(uin) {
  const traffic = state.traffic;
  if (traffic.stream) traffic.stream.close();
  traffic.bot = uin;
  traffic.entries = [];
  traffic.held = [];
  renderBotTabs();
  clear($("traffic-list"));
  const data = await guard(() => api("GET", `/api/v1/bots/${uin}/traffic?limit=200`));
  if (traffic.bot !== uin) return;
  for (const entry of (data && data.entries) || []) addTraffic(entry);
  updateTrafficEmpty();
  const after = data ? data.cursor : 0;
  traffic.stream = openStream(`/api/v1/bots/${uin}/traffic/stream?after=${after}`, (entry) => {
    if (traffic.bot !== uin) return;
    if (traffic.paused) traffic.held.push(entry);
    else addTraffic(entry);
  });
}

function trafficName(entry) {
  if (entry.kind === "action") return entry.action;
  const event = entry.event || {};
  const post = event.post_type || "event";
  const detail = event[`${post}_type`] || event.message_type;
  return detail ? `${post}.${detail}` : post;
}

function trafficSummary(entry) {
  if (entry.kind === "action") {
    const params = entry.params === undefined ? "" : JSON.stringify(entry.params);
    const outcome = entry.retcode === 0 ? JSON.stringify(entry.data ?? null) : `${entry.retcode} ${entry.message || ""}`;
    return `${params} \u2192 ${outcome}`;
  }
  const event = entry.event || {};
  if (event.post_type === "message" || event.post_type === "message_sent") {
    const where = event.group_id ? `group ${event.group_id}, ` : "";
    return `${where}${event.user_id}: ${event.raw_message ?? ""}`;
  }
  if (event.post_type === "notice") return [event.sub_type, event.group_id, event.user_id].filter((x) => x !== undefined).join(" ");
  if (event.post_type === "request") return `${event.request_type} from ${event.user_id}`;
  return event.sub_type || "";
}

function isHeartbeat(entry) {
  return entry.kind === "event" && entry.event && entry.event.meta_event_type === "heartbeat";
}

function addTraffic(entry) {
  const traffic = state.traffic;
  traffic.entries.push(entry);
  const list = $("traffic-list");
  const name = trafficName(entry);
  const ok = entry.kind === "event" || entry.retcode === 0;
  const details = el("pre", { class: "traffic-json", "data-testid": "traffic-json", hidden: true });
  const row = el("li", {
    class: `traffic-entry ${entry.kind}${ok ? "" : " failed"}`, "data-testid": "traffic-entry",
    "data-kind": entry.kind, "data-name": name, "data-seq": entry.seq,
  },
  el("button", {
    type: "button", class: "traffic-row", "aria-expanded": "false",
    onclick: (event) => {
      const open = details.hidden;
      if (open && !details.textContent) details.textContent = JSON.stringify(entry, null, 2);
      details.hidden = !open;
      event.currentTarget.setAttribute("aria-expanded", String(open));
    },
  },
  el("span", { class: "traffic-dir", title: entry.kind === "action" ? "action called by the bot" : "event pushed to the bot" }, entry.kind === "action" ? "\u2192" : "\u2190"),
  el("span", { class: "traffic-name" }, name),
  entry.kind === "action" ? el("span", { class: `pill ${ok ? "ok" : "fail"}` }, ok ? "ok" : `failed ${entry.retcode}`) : null,
  entry.elapsed_ms !== undefined ? el("span", { class: "muted" }, `${entry.elapsed_ms} ms`) : null,
  el("time", { class: "traffic-time" }, new Date(entry.time * 1000).toLocaleTimeString([], { hour12: false })),
  el("span", { class: "traffic-summary" }, trafficSummary(entry).slice(0, 240)),
  entry.truncated ? el("span", { class: "pill" }, `${entry.truncated.bytes} bytes, shortened`) : null),
  details);
  row.hidden = !trafficVisible(row, entry);
  list.prepend(row);
  while (traffic.entries.length > MAX_TRAFFIC) {
    traffic.entries.shift();
    list.lastElementChild && list.lastElementChild.remove();
  }
  updateTrafficEmpty();
}

function trafficVisible(row, entry) {
  if (isHeartbeat(entry) && !$("traffic-heartbeats").checked) return false;
  const filter = $("traffic-filter").value.trim().toLowerCase();
  return !filter || row.textContent.toLowerCase().includes(filter);
}

function refilterTraffic() {
  const rows = $("traffic-list").children;
  const entries = state.traffic.entries;
  // Rows are newest first, entries oldest first.
  for (let i = 0; i < rows.length; i++) {
    const entry = entries[entries.length - 1 - i];
    if (entry) rows[i].hidden = !trafficVisible(rows[i], entry);
  }
}

function updateTrafficEmpty() {
  $("traffic-empty").hidden = state.traffic.entries.length > 0;
}
