// One message card: role, time, meta, token count, then its content in the chosen format.

import { partElement } from "./parts.js";
import { formatTime, h, pretty } from "./dom.js";

/** The badges of a message under an edit-strategy preview. */
function previewBadge(id, preview) {
  if (!preview) return null;
  if (!preview.kept.has(id)) return h("span", { class: "badge dropped", text: "dropped" });
  if (preview.changed.has(id)) return h("span", { class: "badge edited", text: "edited" });
  return h("span", { class: "badge kept", text: "kept" });
}

function metaLine(userMeta) {
  if (!userMeta || Object.keys(userMeta).length === 0) return null;
  return h("details", { class: "meta" }, h("summary", { text: `meta (${Object.keys(userMeta).length})` }), h("pre", { class: "json", text: pretty(userMeta) }));
}

/**
 * A message card.
 * entry: {item (acontext item), userMeta, tokens, formatItems (items in `format`, or null when acontext)}.
 * preview: null or {kept: Set of ids, changed: Set of ids, edited: Map id -> acontext item}.
 */
export function messageCard(entry, { format, publicUrls, preview, index }) {
  const { item } = entry;
  const systemMeta = item.system_meta || {};
  const role = systemMeta.original_role || item.role;
  const shown = preview && preview.edited.get(item.id) ? preview.edited.get(item.id) : item;
  const body =
    format === "acontext"
      ? h("div", { class: "parts" }, (shown.parts || []).length ? shown.parts.map((part) => partElement(part, publicUrls)) : h("div", { class: "muted", text: "(no parts)" }))
      : formatBody(entry, format);
  const dropped = preview && !preview.kept.has(item.id);
  return h(
    "article",
    { class: `message role-${item.role}${dropped ? " is-dropped" : ""}`, "data-id": item.id, "aria-label": `message ${index + 1}, ${role}` },
    h(
      "header",
      { class: "message-head" },
      h("span", { class: "index", text: `#${index + 1}` }),
      h("span", { class: `role role-${role}`, text: role }),
      systemMeta.source_format ? h("span", { class: "badge source", title: "stored as", text: systemMeta.source_format }) : null,
      h("time", { datetime: item.created_at, text: formatTime(item.created_at) }),
      h("span", { class: "tokens", title: "tokens (o200k_base)", text: entry.tokens === undefined ? "" : `${entry.tokens} tok` }),
      previewBadge(item.id, preview),
      h("code", { class: "message-id muted", title: "message id", text: item.id }),
    ),
    metaLine(entry.userMeta),
    body,
  );
}

function formatBody(entry, format) {
  if (!entry.formatItems) return h("div", { class: "muted", text: "loading…" });
  if (entry.formatItems.length === 0) return h("div", { class: "muted", text: `(nothing: ${format} cannot carry this message)` });
  return h("pre", { class: "json", text: entry.formatItems.map((item) => pretty(item)).join("\n") });
}
