// Compose and send a message (acontext format): role, text, files, a tool call, a tool result, meta.

import { parseJsonObject } from "./api.js";
import { h } from "./dom.js";

function field(label, control) {
  return h("label", { class: "field" }, h("span", { text: label }), control);
}

/** The parts and uploads for the form's values (files go in form fields file0, file1, …). */
export function buildMessage(values) {
  const parts = [];
  const files = [];
  if (values.text.trim()) parts.push({ type: "text", text: values.text });
  values.files.forEach((file, i) => {
    const fieldName = `file${i}`;
    files.push([fieldName, file]);
    parts.push({ type: file.type.startsWith("image/") ? "image" : "file", file_field: fieldName });
  });
  if (values.toolName.trim()) {
    const args = values.toolArgs.trim() || "{}";
    parseJsonObject(args, "Tool-call arguments");
    const meta = { name: values.toolName.trim(), arguments: args };
    if (values.toolCallId.trim()) meta.id = values.toolCallId.trim();
    parts.push({ type: "tool-call", meta });
  }
  if (values.resultFor.trim()) parts.push({ type: "tool-result", text: values.resultText, meta: { tool_call_id: values.resultFor.trim() } });
  if (parts.length === 0) throw new Error("Nothing to send: write a text, attach a file, or fill in a tool call or result.");
  const payload = { format: "acontext", blob: { role: values.role, parts } };
  const meta = parseJsonObject(values.meta, "Meta");
  if (meta) payload.meta = meta;
  return { payload, files };
}

export function composeForm(api, sessionId, ui, onSent) {
  const role = h("select", { id: "compose-role" }, ["user", "assistant"].map((r) => h("option", { value: r, text: r })));
  const text = h("textarea", { id: "compose-text", rows: "3", placeholder: "Message text" });
  const files = h("input", { id: "compose-files", type: "file", multiple: true });
  const toolName = h("input", { id: "compose-tool-name", placeholder: "get_weather", spellcheck: "false" });
  const toolCallId = h("input", { id: "compose-tool-id", placeholder: "call_1", spellcheck: "false" });
  const toolArgs = h("input", { id: "compose-tool-args", placeholder: '{"city": "Paris"}', spellcheck: "false" });
  const resultFor = h("input", { id: "compose-result-for", placeholder: "call_1", spellcheck: "false" });
  const resultText = h("input", { id: "compose-result-text", placeholder: "22°C, sunny" });
  const meta = h("input", { id: "compose-meta", placeholder: '{"source": "inspector"}', spellcheck: "false" });
  const send = h("button", { type: "submit", id: "compose-send", text: "Send" });
  const form = h(
    "form",
    {
      class: "compose panel",
      "aria-label": "Send a message",
      on: {
        submit: async (event) => {
          event.preventDefault();
          let message;
          try {
            message = buildMessage({
              role: role.value,
              text: text.value,
              files: [...files.files],
              toolName: toolName.value,
              toolCallId: toolCallId.value,
              toolArgs: toolArgs.value,
              resultFor: resultFor.value,
              resultText: resultText.value,
              meta: meta.value,
            });
          } catch (error) {
            ui.showError(error);
            return;
          }
          send.disabled = true;
          try {
            await api.storeMessage(sessionId, message.payload, message.files);
            form.reset();
            ui.clearError();
            ui.showStatus("Message stored.");
            await onSent();
          } catch (error) {
            ui.showError(error);
          } finally {
            send.disabled = false;
          }
        },
      },
    },
    h("h2", { text: "Send a message" }),
    h("div", { class: "row" }, field("Role", role), field("Files", files)),
    field("Text", text),
    h("fieldset", {}, h("legend", { text: "Tool call (assistant)" }), h("div", { class: "row" }, field("Name", toolName), field("Call id", toolCallId), field("Arguments (JSON)", toolArgs))),
    h("fieldset", {}, h("legend", { text: "Tool result (user)" }), h("div", { class: "row" }, field("For call id", resultFor), field("Result", resultText))),
    field("Meta (JSON object, optional)", meta),
    h("div", { class: "row" }, send),
  );
  return form;
}
