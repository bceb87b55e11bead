// The /api/v1 client: bearer key in a header (never in a URL), errors in plain words.

export const FORMATS = ["acontext", "openai", "anthropic", "gemini"];
export const PROVIDER_FORMATS = ["openai", "anthropic", "gemini"];

/** An API failure with a sentence a person can act on. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(describe(status, detail));
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

function describe(status, detail) {
  const said = detail ? `: ${detail}` : "";
  if (status === 0) return `Cannot reach the gateway${said}. Is it running?`;
  if (status === 401) return "The API key was not accepted. Check it and sign in again.";
  if (status === 403) return `This key's project may not see that${said}.`;
  if (status === 404) return `Not found${said}.`;
  if (status === 413) return `Too large${said}.`;
  if (status === 429) return "Too many requests right now; try again in a moment.";
  if (status === 503) return `The service is busy or starting${said}; try again shortly.`;
  if (status >= 500) return `The gateway failed (HTTP ${status})${said}.`;
  return `The request was refused${said}.`;
}

/** Group a messages page's items by message id (a message is encoded as 0..n items). */
export function groupItems(page) {
  const byId = new Map();
  page.ids.forEach((id, i) => {
    if (!byId.has(id)) byId.set(id, []);
    byId.get(id).push(page.items[i]);
  });
  return byId;
}

/** A JSON object typed by a person: null when blank; an Error in plain words when it is not one. */
export function parseJsonObject(text, what, example) {
  if (!text.trim()) return null;
  const hint = example ? `, such as ${example}` : "";
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${what}: not valid JSON (write an object${hint}).`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what}: must be a JSON object${hint}.`);
  return value;
}

export class Api {
  constructor(key, base = "/api/v1") {
    this.key = key;
    this.base = base;
  }

  /** `GET|POST|...` a path; returns the envelope's `data`. `query` values that are empty are left out. */
  async call(method, path, { query, json, form, signal } = {}) {
    const url = new URL(this.base + path, location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = { Authorization: `Bearer ${this.key}`, Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body, signal, credentials: "omit", cache: "no-store" });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", error.message);
    }
    let envelope = null;
    try {
      envelope = await response.json();
    } catch {
      envelope = null;
    }
    if (!response.ok || !envelope || (envelope.code && envelope.code !== 0)) {
      const detail = envelope && typeof envelope.msg === "string" ? envelope.msg : response.statusText;
      throw new ApiError(response.ok ? 500 : response.status, envelope && envelope.code, detail);
    }
    return envelope.data;
  }

  get(path, query, signal) {
    return this.call("GET", path, { query, signal });
  }

  ping() {
    return this.call("GET", "/ping");
  }

  listSessions({ user, filterByConfigs, cursor, limit = 20 }) {
    return this.get("/session", { user, filter_by_configs: filterByConfigs, cursor, limit, time_desc: true });
  }

  session(id) {
    return this.get(`/session/${encodeURIComponent(id)}/configs`);
  }

  tokenCounts(id) {
    return this.get(`/session/${encodeURIComponent(id)}/token_counts`);
  }

  /** Message count from the converter's progress counters (every message is in exactly one state). */
  async messageCount(id) {
    const status = await this.get(`/session/${encodeURIComponent(id)}/observing_status`);
    return ["observed", "in_process", "pending", "failed"].reduce((sum, key) => sum + (status[key] || 0), 0);
  }

  messages(id, query) {
    return this.get(`/session/${encodeURIComponent(id)}/messages`, query);
  }

  /** Every message of the session in `format` (pages of 200), merged into one page-shaped object. */
  async allMessages(id, format, extra = {}) {
    const all = { items: [], ids: [], metas: [], this_time_tokens: 0, public_urls: {}, message_tokens: [] };
    let cursor;
    do {
      const page = await this.messages(id, { format, limit: 200, cursor, ...extra });
      all.items.push(...page.items);
      all.ids.push(...page.ids);
      all.metas.push(...page.metas);
      if (page.message_tokens) all.message_tokens.push(...page.message_tokens);
      all.this_time_tokens += page.this_time_tokens;
      Object.assign(all.public_urls, page.public_urls || {});
      all.edit_at_message_id = page.edit_at_message_id;
      cursor = page.has_more ? page.next_cursor : undefined;
    } while (cursor);
    return all;
  }

  requestView(id, format, query = {}) {
    return this.get(`/session/${encodeURIComponent(id)}/render`, { format, ...query });
  }

  events(id, cursor) {
    return this.get(`/session/${encodeURIComponent(id)}/events`, { limit: 50, cursor, time_desc: true });
  }

  storeMessage(id, payload, files) {
    const path = `/session/${encodeURIComponent(id)}/messages`;
    if (!files || files.length === 0) return this.call("POST", path, { json: payload });
    const form = new FormData();
    form.append("payload", JSON.stringify(payload));
    for (const [field, file] of files) form.append(field, file, file.name);
    return this.call("POST", path, { form });
  }
}
