// The session view: messages in a chosen format, request view, edit preview, live updates.

import { FORMATS } from "./api.js";
import { composeForm } from "./compose.js";
import { formatTime, h } from "./dom.js";
import { messageCard } from "./messages.js";
import { previewForm, runPreview } from "./preview.js";
import { requestView } from "./request.js";
import { sidePanel } from "./side.js";
import { Timeline } from "./timeline.js";

const POLL_MS = 2000;

export class SessionView {
  constructor(root, api, sessionId, ui) {
    this.root = root;
    this.api = api;
    this.id = sessionId;
    this.ui = ui;
    this.format = ui.preferences.format || "acontext";
    this.mode = "messages";
    this.timeline = new Timeline(api, sessionId);
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
      this.showSummary();
      this.side.show(session);
      await this.loadNewest();
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
    // Not a live region: the list is redrawn as messages arrive; the status line announces them.
    this.list = h("div", { class: "messages", id: "messages" });
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

  showSummary() {
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

  async loadNewest() {
    this.ui.showStatus("Loading messages…");
    await this.timeline.loadNewest(this.format);
    this.showList();
    this.ui.showStatus(`${this.timeline.order.length} messages`);
  }

  showList() {
    const { order, entries, olderCursor, publicUrls } = this.timeline;
    if (order.length === 0) {
      this.list.replaceChildren(h("p", { class: "empty", text: "No messages yet. Send one below, or store one through the API: it appears here." }));
      return;
    }
    const hidden = olderCursor ? Math.max(0, this.count - order.length) : 0;
    const older = olderCursor
      ? h("button", { type: "button", id: "load-older", text: `Load earlier messages (${hidden} more)`, on: { click: () => this.loadOlder() } })
      : null;
    this.list.replaceChildren(
      ...(older ? [older] : []),
      ...order.map((id, index) => {
        const entry = entries.get(id);
        let shown = entry;
        if (this.preview && this.format !== "acontext") shown = { ...entry, formatItems: this.preview.formatItems.get(id) || [] };
        else if (entry.format !== this.format) shown = { ...entry, formatItems: null }; // still being read
        return messageCard(shown, { format: this.format, publicUrls, preview: this.preview, index: hidden + index });
      }),
    );
  }

  async loadOlder() {
    try {
      await this.timeline.loadOlder(this.format);
      this.showList();
    } catch (error) {
      this.ui.showError(error);
    }
  }

  async setFormat(fmt) {
    this.format = fmt;
    this.ui.preferences.format = fmt;
    try {
      if (this.timeline.needsFormat(fmt)) await this.timeline.loadFormat(fmt);
      if (this.preview) this.preview = await runPreview(this.api, this.id, this.preview.strategies, fmt);
      this.showList();
      this.showPreviewSummary();
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
      this.showList();
      this.showPreviewSummary();
      if (this.mode === "request") await this.showRequest();
    } catch (error) {
      this.ui.showError(error);
    }
  }

  clearPreview() {
    this.preview = null;
    this.showList();
    this.showPreviewSummary();
    if (this.mode === "request") this.showRequest();
  }

  showPreviewSummary() {
    const out = this.previewPanel.querySelector(".preview-summary");
    if (!this.preview) {
      out.textContent = "";
      return;
    }
    const { total, kept, changed, tokens } = this.preview;
    out.textContent = `Keeps ${kept.size} of ${total} messages: ${total - kept.size} dropped, ${changed.size} edited; ${tokens} tokens instead of ${this.totalTokens}.`;
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
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.poll(false), POLL_MS);
  }

  /** Pick up messages stored since the last look (by anyone), then refresh the totals and events. */
  poll(immediate) {
    clearTimeout(this.timer);
    // One poll at a time: a send asks for one while the timer's may be running.
    this.polling = (this.polling || Promise.resolve()).then(() => this.pollOnce(immediate));
    return this.polling;
  }

  async pollOnce(immediate) {
    if (this.disposed) return;
    try {
      if (immediate || !document.hidden) {
        const count = await this.api.messageCount(this.id);
        if (count !== this.count) {
          this.count = count;
          await this.timeline.pullNew(this.format);
          // The format may have been switched while the pull was under way.
          if (this.timeline.needsFormat(this.format)) await this.timeline.loadFormat(this.format);
          this.totalTokens = (await this.api.tokenCounts(this.id)).total_tokens;
          this.showSummary();
          this.showList();
          this.ui.showStatus(`${this.timeline.order.length} messages`);
        }
        await this.side.refreshEvents();
        if (this.pollFailed) this.ui.clearError();
        this.pollFailed = false;
      }
    } catch (error) {
      this.pollFailed = true;
      this.ui.showError(error);
    }
    this.schedulePoll();
  }
}
