// Building DOM nodes. Stored data only ever becomes text nodes or validated URLs: no innerHTML.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple", "open"]);

/**
 * Create an element. `props`: class, text (a text node), on (event handlers), a few live
 * properties (value, checked, ...), and plain attributes. Event-handler and HTML attributes are refused.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (PROPERTIES.has(name)) el[name] = value;
    else if (/^on|html|^style$|^srcdoc$/i.test(name)) throw new Error(`refusing to set ${name}`);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (strings become text nodes; arrays are flattened; null is skipped). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A material link of this gateway, made relative to this page's origin (the CSP allows only 'self'). */
export function sameOriginMaterial(url) {
  try {
    const parsed = new URL(url, location.href);
    if (!["http:", "https:"].includes(parsed.protocol)) return null;
    if (!/^\/api\/v1\/material\/[A-Za-z0-9._~-]+$/.test(parsed.pathname)) return null;
    return parsed.pathname;
  } catch {
    return null;
  }
}

const IMAGE_MEDIA = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;
const BASE64 = /^[A-Za-z0-9+/=\s_-]+$/;

/** A `data:` URL for base64 image bytes, or null when the media type or data are not plainly an image. */
export function imageDataUrl(mediaType, data) {
  if (typeof data !== "string" || !IMAGE_MEDIA.test(String(mediaType)) || !BASE64.test(data)) return null;
  return `data:${mediaType};base64,${data.replace(/\s/g, "")}`;
}

/** An inline `data:image/...;base64,` URL as given, only if it is exactly that. */
export function inlineImageUrl(url) {
  const match = /^data:(image\/[a-z+.-]+);base64,(.*)$/s.exec(String(url));
  return match ? imageDataUrl(match[1], match[2]) : null;
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function relativeTime(iso) {
  const date = new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (Number.isNaN(seconds)) return "";
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** An http(s) URL as given (for a plain link), or null for any other scheme. */
export function httpUrl(url) {
  try {
    const parsed = new URL(String(url));
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}
