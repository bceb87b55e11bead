// The sessions list: newest first, paged, filtered by user and configs; counts filled in per row.

import { parseJsonObject } from "./api.js";
import { formatTime, h, relativeTime } from "./dom.js";

const PAGE_SIZE = 20;
const ROW_FETCHES = 4; // parallel per-row reads (message count, last activity)

function parseConfigsFilter(text) {
  const filter = parseJsonObject(text, "Configs filter", '{"agent": "bot1"}');
  return filter ? JSON.stringify(filter) : "";
}

export class SessionList {
  constructor(root, api, ui) {
    this.root = root;
    this.api = api;
    this.ui = ui;
    this.filters = ui.preferences.filters || { user: "", configs: "" };
    this.cursors = [undefined]; // cursor of each visited page; the last one is shown
    this.generation = 0;
  }

  start() {
    const user = h("input", { id: "filter-user", value: this.filters.user, placeholder: "alice@example.com", spellcheck: "false" });
    const configs = h("input", { id: "filter-configs", value: this.filters.configs, placeholder: '{"agent": "bot1"}', spellcheck: "false" });
    const form = h(
      "form",
      {
        class: "filters",
        role: "search",
        on: {
          submit: (event) => {
            event.preventDefault();
            this.filters = { user: user.value.trim(), configs: configs.value.trim() };
            this.ui.preferences.filters = this.filters;
            this.cursors = [undefined];
            this.load();
          },
        },
      },
      h("label", { class: "field" }, h("span", { text: "User" }), user),
      h("label", { class: "field" }, h("span", { text: "Configs contain" }), configs),
      h("button", { type: "submit", text: "Filter" }),
    );
    this.table = h("div", { id: "sessions" });
    this.prev = h("button", { type: "button", id: "prev-page", text: "← Newer", on: { click: () => this.page(-1) } });
    this.next = h("button", { type: "button", id: "next-page", text: "Older →", on: { click: () => this.page(1) } });
    this.root.replaceChildren(h("h1", { text: "Sessions" }), form, this.table, h("div", { class: "pager" }, this.prev, this.next));
    return this.load();
  }

  dispose() {
    this.generation += 1;
  }

  page(step) {
    if (step < 0) this.cursors.pop();
    else this.cursors.push(this.nextCursor);
    this.load();
  }

  async load() {
    const generation = ++this.generation;
    let filterByConfigs;
    try {
      filterByConfigs = parseConfigsFilter(this.filters.configs);
    } catch (error) {
      this.ui.showError(error);
      return;
    }
    this.ui.showStatus("Loading sessions…");
    let page;
    try {
      page = await this.api.listSessions({ user: this.filters.user, filterByConfigs, cursor: this.cursors.at(-1), limit: PAGE_SIZE });
    } catch (error) {
      this.ui.showError(error);
      return;
    }
    if (generation !== this.generation) return;
    this.ui.clearError();
    this.nextCursor = page.has_more ? page.next_cursor : undefined;
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = !this.nextCursor;
    this.ui.showStatus(`Page ${this.cursors.length}: ${page.items.length} sessions`);
    this.showTable(page.items);
    this.fillRows(page.items, generation);
  }

  showTable(sessions) {
    if (sessions.length === 0) {
      this.table.replaceChildren(h("p", { class: "empty", text: "No sessions match." }));
      return;
    }
    const rows = sessions.map((s) =>
      h(
        "tr",
        { "data-id": s.id },
        h("td", { "data-label": "Session" }, h("a", { href: `#session=${encodeURIComponent(s.id)}` }, h("code", { text: s.id }))),
        h("td", { "data-label": "Created" }, h("time", { datetime: s.created_at, text: formatTime(s.created_at) })),
        h("td", { "data-label": "User", class: "truncate", text: s.user_id || "—" }),
        h("td", { "data-label": "Configs", class: "truncate", title: s.configs ? JSON.stringify(s.configs) : "", text: s.configs && Object.keys(s.configs).length ? JSON.stringify(s.configs) : "—" }),
        h("td", { "data-label": "Messages", class: "count", text: "…" }),
        h("td", { "data-label": "Last activity", class: "activity", text: "…" }),
      ),
    );
    const head = ["Session", "Created", "User", "Configs", "Messages", "Last activity"].map((name) => h("th", { scope: "col", text: name }));
    this.table.replaceChildren(h("table", { class: "sessions" }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)));
  }

  /** Message count and newest message time of each row, a few rows at a time. */
  async fillRows(sessions, generation) {
    const queue = [...sessions];
    const worker = async () => {
      while (queue.length && generation === this.generation) {
        const session = queue.shift();
        const row = this.table.querySelector(`tr[data-id="${CSS.escape(session.id)}"]`);
        try {
          const [count, newest] = await Promise.all([
            this.api.messageCount(session.id),
            this.api.messages(session.id, { format: "acontext", limit: 1, time_desc: true, with_asset_public_url: false }),
          ]);
          const last = newest.items.length ? newest.items[0].created_at : null;
          row.querySelector(".count").textContent = String(count);
          const activity = row.querySelector(".activity");
          activity.replaceChildren(last ? h("time", { datetime: last, title: formatTime(last), text: relativeTime(last) }) : "no messages");
        } catch (error) {
          row.querySelector(".count").textContent = "?";
          row.querySelector(".activity").textContent = error.message;
        }
      }
    };
    await Promise.all(Array.from({ length: ROW_FETCHES }, worker));
  }
}
