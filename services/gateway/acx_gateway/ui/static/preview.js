// Edit-strategy preview: what a client asking with `edit_strategies` would get.

import { groupItems } from "./api.js";
import { h } from "./dom.js";

const STRATEGIES = {
  token_limit: { param: "limit_tokens", label: "keep at most N tokens", value: 1000 },
  middle_out: { param: "token_reduce_to", label: "reduce to N tokens from the middle", value: 1000 },
  remove_tool_result: { param: "keep_recent_n_tool_results", label: "keep the N newest tool results", value: 3 },
  remove_tool_call_params: { param: "keep_recent_n_tool_calls", label: "keep the N newest tool-call arguments", value: 3 },
};

/** The form; `onPreview(strategies)` gets the parsed `edit_strategies` array. */
export function previewForm({ onPreview, onClear }) {
  const type = h("select", { id: "strategy-type", "aria-label": "Strategy" }, Object.keys(STRATEGIES).map((name) => h("option", { value: name, text: name })));
  const amount = h("input", { id: "strategy-n", type: "number", min: "0", step: "1", value: String(STRATEGIES.token_limit.value), "aria-label": "N" });
  const hint = h("span", { class: "muted", text: STRATEGIES.token_limit.label });
  const json = h("input", { id: "strategy-json", class: "wide", spellcheck: "false", "aria-label": "edit_strategies JSON" });
  const summary = h("p", { class: "preview-summary", role: "status" });
  const compose = () => {
    const spec = STRATEGIES[type.value];
    hint.textContent = spec.label;
    json.value = JSON.stringify([{ type: type.value, params: { [spec.param]: Number(amount.value) } }]);
  };
  type.addEventListener("change", () => {
    amount.value = String(STRATEGIES[type.value].value);
    compose();
  });
  amount.addEventListener("input", compose);
  compose();
  const form = h(
    "form",
    {
      class: "preview-form",
      on: {
        submit: (event) => {
          event.preventDefault();
          let strategies;
          try {
            strategies = JSON.parse(json.value);
          } catch {
            summary.textContent = "The strategies are not valid JSON.";
            return;
          }
          onPreview(strategies);
        },
      },
    },
    h("p", { class: "muted", text: "What a client asking with edit_strategies would get; nothing stored changes." }),
    h("div", { class: "row" }, type, amount, hint),
    h("label", { class: "row" }, "edit_strategies ", json),
    h("div", { class: "row" }, h("button", { type: "submit", id: "preview", text: "Preview" }), h("button", { type: "button", id: "clear-preview", text: "Clear", on: { click: onClear } })),
    summary,
  );
  return h("details", { class: "panel" }, h("summary", { text: "Edit-strategy preview" }), form);
}

/** Read the whole session with the strategies applied; compare with the stored messages. */
export async function runPreview(api, sessionId, strategies, format) {
  const query = { format: "acontext", edit_strategies: JSON.stringify(strategies), with_asset_public_url: false };
  const original = await api.messages(sessionId, { format: "acontext", with_asset_public_url: false });
  const edited = await api.messages(sessionId, query);
  const before = new Map(original.ids.map((id, i) => [id, JSON.stringify(original.items[i].parts)]));
  // A message stored between the two reads is neither kept nor dropped here.
  const kept = new Set(edited.ids.filter((id) => before.has(id)));
  const changed = new Set();
  const editedItems = new Map();
  edited.ids.forEach((id, i) => {
    editedItems.set(id, edited.items[i]);
    if (before.get(id) !== JSON.stringify(edited.items[i].parts)) changed.add(id);
  });
  const formatItems = format === "acontext" ? new Map() : groupItems(await api.messages(sessionId, { format, edit_strategies: JSON.stringify(strategies) }));
  return { strategies, total: original.ids.length, kept, changed, edited: editedItems, formatItems, tokens: edited.this_time_tokens };
}
