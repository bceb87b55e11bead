// Entry point: the API key, the hash route (#session=<id>), and the shared status/error lines.

import { Api } from "./api.js";
import { h } from "./dom.js";
import { SessionView } from "./session.js";
import { SessionList } from "./sessions.js";

const KEY_STORAGE = "acx-inspector-key";

/** `#a=1&b=2` → Map, decoding each value once (no '+' rule: keys may contain '+'). */
function hashParams() {
  const params = new Map();
  for (const pair of location.hash.replace(/^#/, "").split("&")) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const name = at < 0 ? pair : pair.slice(0, at);
    try {
      params.set(decodeURIComponent(name), at < 0 ? "" : decodeURIComponent(pair.slice(at + 1)));
    } catch {
      // A malformed escape: ignore that pair.
    }
  }
  return params;
}

function hashOf(params) {
  const text = [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return text ? `#${text}` : "";
}

/** Move a key given in the fragment into sessionStorage and out of the address bar and history. */
function takeKeyFromFragment() {
  const params = hashParams();
  if (!params.has("key")) return;
  const key = params.get("key").trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  params.delete("key");
  history.replaceState(null, "", location.pathname + location.search + hashOf(params));
}

const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const main = document.getElementById("main");
const nav = document.getElementById("nav");

const ui = {
  preferences: {},
  showStatus(text) {
    statusLine.textContent = text;
  },
  showError(error) {
    errorLine.textContent = error && error.message ? error.message : String(error);
    errorLine.hidden = false;
    if (error && error.status === 401) signOut("The API key was not accepted. Enter a valid key.");
  },
  clearError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
  },
};

let view = null;

function signOut(reason) {
  sessionStorage.removeItem(KEY_STORAGE);
  showLogin(reason);
}

function showLogin(reason) {
  if (view) view.dispose();
  view = null;
  nav.replaceChildren();
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", spellcheck: "false", required: true, placeholder: "sk-ac-…" });
  const form = h(
    "form",
    {
      class: "login panel",
      on: {
        submit: async (event) => {
          event.preventDefault();
          const key = input.value.trim();
          try {
            await new Api(key).ping();
          } catch (error) {
            ui.showError(error.status === 401 ? new Error("That API key was not accepted.") : error);
            return;
          }
          sessionStorage.setItem(KEY_STORAGE, key);
          ui.clearError();
          route();
        },
      },
    },
    h("h1", { text: "Sign in" }),
    h("p", { text: "The inspector reads sessions with a project's API key. The key stays in this tab (sessionStorage) and is sent only in the Authorization header." }),
    h("label", { class: "field" }, h("span", { text: "API key" }), input),
    h("button", { type: "submit", id: "sign-in", text: "Sign in" }),
  );
  main.replaceChildren(form);
  ui.showStatus(reason || "");
  input.focus();
}

function route() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) {
    showLogin();
    return;
  }
  if (view) view.dispose();
  ui.clearError();
  const api = new Api(key);
  nav.replaceChildren(
    h("a", { href: "#", text: "Sessions" }),
    h("button", { type: "button", id: "sign-out", class: "link", text: "Sign out", on: { click: () => signOut("Signed out.") } }),
  );
  const sessionId = hashParams().get("session");
  view = sessionId ? new SessionView(main, api, sessionId, ui) : new SessionList(main, api, ui);
  view.start();
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => {
  takeKeyFromFragment();
  route();
});
takeKeyFromFragment();
route();
