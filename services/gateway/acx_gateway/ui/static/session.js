// The session view: messages in a chosen format, request view, edit preview, live updates.

import { FORMATS, groupItems } from "./api.js";
import { composeForm } from "./compose.js";
import { formatTime, h } from "./dom.js";
import { messageCard } from "./messages.js";
import { previewForm, runPreview } from "./preview.js";
import { requestView } from "./request.js";
import { sidePanel } from "./side.js";

const POLL_MS = 2000;
const NEW_WINDOW_MARGIN = 20; // messages that may arrive between the two reads of one poll

export class SessionView {
  constructor(root, api, sessionId, ui) {
    this.root = root;
    this.api = api;
    this.id = sessionId;
    this.ui = ui;
    this.format = ui.preferences.format || "acontext";
    this.mode = "messages";
    this.entries = new Map(); // id -> {item, userMeta, tokens, formatItems}
    this.order = [];
    this.publicUrls = {};
    this.preview = null;
    this.timer = null;
    this.disposed = false;
  }

  async start() {
    this.layout();
    try {
      const [session, total, count] = await Promise.all([this.api.session(this.id), this.api.tokenCounts(this.id), this.api.messageCount(this.id)]);
      this.session = session;
      this.totalTokens = total.total_tokens;
      this.count = count;
      this.renderSummary();
      this.side.show(session);
      await this.loadAll();
    } catch (error) {
      this.ui.showError(error);
      return;
    }
    this.schedulePoll();
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  layout() {
    this.summary = h("section", { class: "summary", "aria-label": "Session" });
    this.formatPicker = h(
      "fieldset",
      { class: "segmented" },
      h("legend", { text: "Format" }),
      FORMATS.map((fmt) =>
        h("label", {}, h("input", { type: "radio", name: "format", value: fmt, checked: fmt === this.format, on: { change: () => this.setFormat(fmt) } }), fmt),
      ),
    );
    this.modePicker = h(
      "fieldset",
      { class: "segmented" },
      h("legend", { text: "View" }),
      [["messages", "Messages"], ["request", "Request"]].map(([mode, label]) =>
        h("label", {}, h("input", { type: "radio", name: "mode", value: mode, checked: mode === this.mode, on: { change: () => this.setMode(mode) } }), label),
      ),
    );
    const download = h("button", { type: "button", id: "download", text: "Download JSON", on: { click: () => this.download() } });
    this.previewPanel = previewForm({ onPreview: (strategies) => this.applyPreview(strategies), onClear: () => this.clearPreview() });
    this.list = h("div", { class: "messages", id: "messages", "aria-live": "polite" });
    this.requestPanel = h("section", { class: "request", id: "request", hidden: true });
    this.side = sidePanel(this.api, this.id, this.ui);
    const compose = composeForm(this.api, this.id, this.ui, () => this.poll(true));
    this.root.replaceChildren(
      h("nav", { class: "crumbs" }, h("a", { href: "#", text: "← Sessions" })),
      this.summary,
      h(
        "div",
        { class: "session-grid" },
        h("div", { class: "session-main" }, h("div", { class: "toolbar" }, this.formatPicker, this.modePicker, download), this.previewPanel, this.list, this.requestPanel, compose),
        this.side.element,
      ),
    );
  }

  renderSummary() {
    const s = this.session;
    const configs = s.configs && Object.keys(s.configs).length ? JSON.stringify(s.configs) : "none";
    this.summary.replaceChildren(
      h("h1", {}, "Session ", h("code", { text: s.id })),
      h(
        "dl",
        { class: "facts" },
        h("dt", { text: "created" }), h("dd", { text: formatTime(s.created_at) }),
        h("dt", { text: "user" }), h("dd", { text: s.user_id || "—" }),
        h("dt", { text: "messages" }), h("dd", { id: "message-count", text: String(this.count) }),
        h("dt", { text: "total tokens" }), h("dd", { id: "total-tokens", text: String(this.totalTokens) }),
        h("dt", { text: "configs" }), h("dd", { class: "truncate", text: configs }),
      ),
    );
  }

  /** Read every message (acontext for the facts, then the chosen format) and draw them. */
  async loadAll() {
    this.ui.showStatus("Loading messages…");
    const page = await this.api.allMessages(this.id, "acontext");
    this.entries.clear();
    this.order = [];
    this.absorb(page);
    if (this.format !== "acontext") await this.loadFormat(this.format);
    this.renderList();
    this.ui.showStatus(`${this.order.length} messages`);
  }

  absorb(page) {
    Object.assign(this.publicUrls, page.public_urls || {});
    page.ids.forEach((id, i) => {
      if (this.entries.has(id)) return;
      this.entries.set(id, { item: page.items[i], userMeta: page.metas[i], tokens: page.message_tokens ? page.message_tokens[i] : undefined, formatItems: null });
      this.order.push(id);
    });
  }

  async loadFormat(fmt) {
    const byId = groupItems(await this.api.allMessages(this.id, fmt));
    for (const [id, entry] of this.entries) Object.assign(entry, { formatItems: byId.get(id) || [], format: fmt });
  }

  renderList() {
    if (this.order.length === 0) {
      this.list.replaceChildren(h("p", { class: "empty", text: "No messages yet. Send one below, or store one through the API: it appears here." }));
      return;
    }
    this.list.replaceChildren(
      ...this.order.map((id, index) => {
        const entry = this.entries.get(id);
        const shown = this.preview && this.format !== "acontext" ? { ...entry, formatItems: this.preview.formatItems.get(id) || [] } : entry;
        return messageCard(shown, { format: this.format, publicUrls: this.publicUrls, preview: this.preview, index });
      }),
    );
  }

  async setFormat(fmt) {
    this.format = fmt;
    this.ui.preferences.format = fmt;
    try {
      if (fmt !== "acontext" && [...this.entries.values()].some((entry) => entry.formatItems === null || entry.format !== fmt)) {
        await this.loadFormat(fmt);
      }
      if (this.preview) this.preview = await runPreview(this.api, this.id, this.preview.strategies, fmt);
      this.renderList();
      this.renderPreviewSummary();
      if (this.mode === "request") await this.showRequest();
    } catch (error) {
      this.ui.showError(error);
    }
  }

  async setMode(mode) {
    this.mode = mode;
    this.list.hidden = mode !== "messages";
    this.requestPanel.hidden = mode !== "request";
    if (mode === "request") await this.showRequest();
  }

  async showRequest() {
    try {
      await requestView(this.requestPanel, this.api, this.id, this.format, this.preview && this.preview.strategies, this.ui);
    } catch (error) {
      this.ui.showError(error);
    }
  }

  async applyPreview(strategies) {
    try {
      this.preview = await runPreview(this.api, this.id, strategies, this.format);
      this.ui.clearError();
      this.renderList();
      this.renderPreviewSummary();
      if (this.mode === "request") await this.showRequest();
    } catch (error) {
      this.ui.showError(error);
    }
  }

  clearPreview() {
    this.preview = null;
    this.renderList();
    this.renderPreviewSummary();
    if (this.mode === "request") this.showRequest();
  }

  renderPreviewSummary() {
    const out = this.previewPanel.querySelector(".preview-summary");
    if (!this.preview) {
      out.textContent = "";
      return;
    }
    const dropped = this.order.filter((id) => !this.preview.kept.has(id)).length;
    const changed = this.order.filter((id) => this.preview.changed.has(id)).length;
    out.textContent = `Keeps ${this.order.length - dropped} of ${this.order.length} messages: ${dropped} dropped, ${changed} edited; ${this.preview.tokens} tokens instead of ${this.totalTokens}.`;
  }

  async download() {
    try {
      const page = await this.api.allMessages(this.id, this.format);
      const blob = new Blob([JSON.stringify({ session_id: this.id, format: this.format, items: page.items, ids: page.ids, metas: page.metas }, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `session-${this.id}-${this.format}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      this.ui.showStatus(`Downloaded ${page.items.length} ${this.format} items.`);
    } catch (error) {
      this.ui.showError(error);
    }
  }

  schedulePoll() {
    if (this.disposed) return;
    this.timer = setTimeout(() => this.poll(false), POLL_MS);
  }

  /** Pick up messages stored since the last look (by anyone), then refresh the totals and events. */
  async poll(immediate) {
    clearTimeout(this.timer);
    if (this.disposed) return;
    try {
      if (immediate || !document.hidden) {
        const count = await this.api.messageCount(this.id);
        if (count !== this.count) {
          await this.readNewest(count - this.count);
          this.count = count;
          this.totalTokens = (await this.api.tokenCounts(this.id)).total_tokens;
          this.renderSummary();
          this.renderList();
          this.ui.showStatus(`${this.order.length} messages`);
        }
        await this.side.refreshEvents();
      }
    } catch (error) {
      this.ui.showError(error);
    }
    this.schedulePoll();
  }

  async readNewest(added) {
    if (added <= 0 || added > 200 - NEW_WINDOW_MARGIN) {
      await this.loadAll();
      return;
    }
    const page = await this.api.messages(this.id, { format: "acontext", limit: added, time_desc: true });
    const fresh = page.ids.filter((id) => !this.entries.has(id));
    this.absorb(page);
    if (this.format !== "acontext" && fresh.length) {
      // Read after the acontext page with a margin, so the window covers every message just absorbed.
      const formatted = groupItems(await this.api.messages(this.id, { format: this.format, limit: added + NEW_WINDOW_MARGIN, time_desc: true }));
      for (const id of fresh) Object.assign(this.entries.get(id), { formatItems: formatted.get(id) || [], format: this.format });
    }
  }
}
