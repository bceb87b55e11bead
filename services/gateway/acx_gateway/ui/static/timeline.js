// The messages of one session that the view holds: the newest first, older pages on request,
// new ones pulled as they are stored. Cursors are keysets (the same for every format), so a page
// read in acontext and in a provider format covers the same messages.

import { groupItems } from "./api.js";

const PAGE = 200; // the API's largest page
const NEWEST = 150; // first read: this many of the newest messages
const ARRIVALS = 50; // messages that may be stored between two reads of one step

export class Timeline {
  constructor(api, sessionId) {
    this.api = api;
    this.id = sessionId;
    this.entries = new Map(); // id -> {item (acontext), userMeta, tokens, formatItems, format}
    this.order = []; // ids, oldest first: a contiguous run ending at the newest message
    this.publicUrls = {};
    this.olderCursor = undefined; // the page before the oldest held message, if any
    this.tail = undefined; // a cursor at or before the newest held message (undefined: the start)
  }

  read(format, query) {
    return this.api.messages(this.id, { format, ...query });
  }

  /** Start over with the newest messages. */
  async loadNewest(format) {
    // The tail first: whatever is stored after it is pulled later, so nothing falls in a gap.
    const probe = await this.read("acontext", { limit: 1, time_desc: true, with_asset_public_url: false });
    const page = await this.read("acontext", { limit: NEWEST, time_desc: true });
    this.entries.clear();
    this.order = [];
    this.tail = probe.has_more ? probe.next_cursor : undefined;
    this.olderCursor = page.has_more ? page.next_cursor : undefined;
    this.absorb(page, false);
    if (format !== "acontext") await this.loadFormat(format);
  }

  /** The page before the oldest held message. */
  async loadOlder(format) {
    const query = { limit: PAGE, time_desc: true, cursor: this.olderCursor };
    const page = await this.read("acontext", query);
    this.olderCursor = page.has_more ? page.next_cursor : undefined;
    const fresh = this.absorb(page, true);
    if (format !== "acontext") this.assign(format, fresh, groupItems(await this.read(format, query)));
  }

  /** Messages stored after the tail (by anyone); returns how many were new. */
  async pullNew(format) {
    let added = 0;
    for (;;) {
      const query = { limit: PAGE, cursor: this.tail };
      const page = await this.read("acontext", query);
      const fresh = this.absorb(page, false);
      added += fresh.length;
      // Same start, read later: a superset of the acontext page.
      if (format !== "acontext" && fresh.length) this.assign(format, fresh, groupItems(await this.read(format, query)));
      if (page.has_more) {
        this.tail = page.next_cursor;
        continue;
      }
      if (page.ids.length >= 2) {
        // A cursor exists only where a page ends early: end one just before the last message.
        const probe = await this.read("acontext", { limit: page.ids.length - 1, cursor: this.tail, with_asset_public_url: false });
        if (probe.has_more) this.tail = probe.next_cursor;
      }
      return added;
    }
  }

  /** Every held message in a provider format: pages from the newest down past the oldest held one. */
  async loadFormat(format) {
    const byId = new Map();
    let cursor;
    let covered = 0;
    do {
      const page = await this.read(format, { limit: PAGE, time_desc: true, cursor });
      for (const [id, items] of groupItems(page)) byId.set(id, items);
      cursor = page.has_more ? page.next_cursor : undefined;
      covered += PAGE;
    } while (cursor && covered < this.order.length + ARRIVALS);
    this.assign(format, this.order, byId);
  }

  needsFormat(format) {
    return format !== "acontext" && this.order.some((id) => this.entries.get(id).format !== format);
  }

  /** Add a page's messages before or after those held; returns the ids that were new. */
  absorb(page, older) {
    Object.assign(this.publicUrls, page.public_urls || {});
    const fresh = [];
    page.ids.forEach((id, i) => {
      if (this.entries.has(id)) return;
      this.entries.set(id, { item: page.items[i], userMeta: page.metas[i], tokens: page.message_tokens ? page.message_tokens[i] : undefined, formatItems: null, format: null });
      fresh.push(id);
    });
    this.order = older ? [...fresh, ...this.order] : [...this.order, ...fresh];
    return fresh;
  }

  assign(format, ids, byId) {
    for (const id of ids) Object.assign(this.entries.get(id), { formatItems: byId.get(id) || [], format });
  }
}
