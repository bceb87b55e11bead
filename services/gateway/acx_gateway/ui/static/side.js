// Beside the messages: the session's configs and its events.

import { formatTime, h, pretty } from "./dom.js";

export function sidePanel(api, sessionId, ui) {
  const configs = h("pre", { class: "json", id: "configs", text: "…" });
  const events = h("ol", { class: "events", id: "events" });
  const more = h("button", { type: "button", text: "Older events", hidden: true });
  let cursor;
  let newestSeen = null;

  function eventItem(event) {
    return h(
      "li",
      { class: "event" },
      h("div", { class: "part-head" }, h("span", { class: "badge", text: event.type }), " ", h("time", { datetime: event.created_at, text: formatTime(event.created_at) })),
      h("pre", { class: "json", text: pretty(event.data) }),
    );
  }

  async function refreshEvents() {
    const page = await api.events(sessionId);
    const newest = page.items.length ? page.items[0].id : null;
    if (newest === newestSeen && events.childElementCount) return;
    newestSeen = newest;
    cursor = page.has_more ? page.next_cursor : undefined;
    more.hidden = !cursor;
    events.replaceChildren(...(page.items.length ? page.items.map(eventItem) : [h("li", { class: "muted", text: "No events." })]));
  }

  more.addEventListener("click", async () => {
    try {
      const page = await api.events(sessionId, cursor);
      events.append(...page.items.map(eventItem));
      cursor = page.has_more ? page.next_cursor : undefined;
      more.hidden = !cursor;
    } catch (error) {
      ui.showError(error);
    }
  });

  const element = h(
    "aside",
    { class: "side", "aria-label": "Configs and events" },
    h("section", { class: "panel" }, h("h2", { text: "Configs" }), configs),
    h("section", { class: "panel" }, h("h2", { text: "Events" }), events, more),
  );

  return {
    element,
    refreshEvents,
    show(session) {
      configs.textContent = session.configs ? pretty(session.configs) : "none";
      refreshEvents().catch((error) => ui.showError(error));
    },
  };
}
