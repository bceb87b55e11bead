// The request-level view: the session as one provider request (`GET /session/{id}/render`).

import { h, pretty } from "./dom.js";

export async function requestView(panel, api, sessionId, format, strategies, ui) {
  if (format === "acontext") {
    panel.replaceChildren(h("p", { class: "muted", text: "The request view shows what a provider receives: pick openai, anthropic or gemini." }));
    return;
  }
  panel.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
  const view = await api.requestView(sessionId, format, strategies ? { edit_strategies: JSON.stringify(strategies) } : {});
  const text = pretty(view.payload);
  const copy = h("button", {
    type: "button",
    id: "copy-request",
    text: "Copy",
    on: {
      click: async () => {
        try {
          await navigator.clipboard.writeText(text);
          ui.showStatus("Request copied to the clipboard.");
        } catch {
          ui.showStatus("The browser refused the clipboard: select the text and copy it.");
        }
      },
    },
  });
  panel.replaceChildren(
    h("div", { class: "row" }, h("h2", { text: `${format} request` }), copy),
    h("p", { class: "muted", text: `${view.this_time_tokens} tokens${strategies ? " (with the previewed strategies)" : ""}${view.has_more ? "; more messages follow" : ""}.` }),
    h("pre", { class: "json", id: "request-json", tabindex: "0", text }),
  );
}
