// Readable display of acontext parts. Every stored string becomes text; URLs are validated.

import { h, httpUrl, imageDataUrl, inlineImageUrl, pretty, sameOriginMaterial } from "./dom.js";

function prettyArguments(value) {
  if (typeof value !== "string") return pretty(value);
  try {
    return pretty(JSON.parse(value));
  } catch {
    return value;
  }
}

function sizeText(bytes) {
  if (typeof bytes !== "number") return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The material link of an uploaded asset, relative to this origin, or null. */
function assetLink(part, publicUrls) {
  const sha = part.asset && part.asset.sha256;
  const entry = sha && publicUrls ? publicUrls[sha] : null;
  return entry ? sameOriginMaterial(entry.url) : null;
}

function imagePart(part, publicUrls) {
  const meta = part.meta || {};
  const name = part.filename || "image";
  const material = assetLink(part, publicUrls);
  const inline = material || inlineImageUrl(meta.url || "") || imageDataUrl(meta.media_type, meta.data);
  if (inline) {
    const img = h("img", { src: inline, alt: name, loading: "lazy", class: "preview" });
    return h("figure", { class: "part image" }, material ? h("a", { href: material, target: "_blank", rel: "noopener noreferrer" }, img) : img, h("figcaption", { text: describeAsset(part, name) }));
  }
  const external = httpUrl(meta.url || "");
  if (external) {
    // Not loaded: the page talks to this gateway only, and an image link could track the reader.
    return h("div", { class: "part image" }, "image (not loaded): ", h("a", { href: external, target: "_blank", rel: "noopener noreferrer" }, external));
  }
  return h("div", { class: "part image muted", text: `image (${meta.media_type || "no preview"})` });
}

function describeAsset(part, fallback) {
  const asset = part.asset || {};
  return [part.filename || fallback, asset.mime, sizeText(asset.size_b)].filter(Boolean).join(" · ");
}

function filePart(part, publicUrls) {
  const meta = part.meta || {};
  const material = assetLink(part, publicUrls);
  const label = describeAsset(part, meta.filename || "file");
  if (material) {
    return h("div", { class: "part file" }, "📎 ", h("a", { href: material, download: part.filename || "file", rel: "noopener noreferrer" }, label));
  }
  const external = httpUrl(meta.url || "");
  if (external) return h("div", { class: "part file" }, "📎 document: ", h("a", { href: external, target: "_blank", rel: "noopener noreferrer" }, external));
  const details = [meta.filename, meta.media_type, meta.file_id && `file_id ${meta.file_id}`].filter(Boolean).join(" · ");
  return h("div", { class: "part file", text: `📎 ${details || "file"} (inline data, no preview)` });
}

function toolCallPart(part) {
  const meta = part.meta || {};
  return h(
    "div",
    { class: "part tool-call" },
    h("div", { class: "part-head" }, h("span", { class: "badge call", text: "tool call" }), " ", h("code", { text: meta.name || "?" }), meta.id ? h("span", { class: "muted", text: ` id ${meta.id}` }) : null),
    h("pre", { class: "json", text: prettyArguments(meta.arguments) }),
  );
}

function toolResultPart(part) {
  const meta = part.meta || {};
  const id = meta.tool_call_id || meta.function_name || meta.name || "?";
  return h(
    "div",
    { class: `part tool-result${meta.is_error ? " is-error" : ""}` },
    h("div", { class: "part-head" }, h("span", { class: "badge result", text: meta.is_error ? "tool error" : "tool result" }), h("span", { class: "muted", text: ` for ${id}` })),
    h("pre", { class: "text", text: part.text || "" }),
  );
}

/** One part as DOM. `publicUrls` maps asset sha256 to `{url}` (from a format=acontext page). */
export function partElement(part, publicUrls) {
  switch (part.type) {
    case "text":
      return h("div", { class: `part text${part.meta && part.meta.is_refusal ? " refusal" : ""}`, text: part.text || "" });
    case "thinking":
      return h("details", { class: "part thinking" }, h("summary", { text: "thinking" }), h("div", { class: "text", text: part.text || "" }));
    case "redacted_thinking":
      return h("div", { class: "part muted", text: "redacted thinking" });
    case "image":
      return imagePart(part, publicUrls);
    case "file":
      return filePart(part, publicUrls);
    case "tool-call":
      return toolCallPart(part);
    case "tool-result":
      return toolResultPart(part);
    default:
      return h("div", { class: "part other" }, h("span", { class: "badge", text: String(part.type) }), h("pre", { class: "json", text: pretty(part.meta || {}) }));
  }
}
