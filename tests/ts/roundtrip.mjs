// The published npm SDK `@acontext/acontext` against a running gateway, unmodified.
// Run by tests/integration/test_sdk_typescript.py: ACONTEXT_BASE_URL and ACONTEXT_API_KEY name
// the gateway. Every check is a node:assert; the last stdout line is a JSON summary the Python test
// cross-checks over plain HTTP.
import assert from 'node:assert/strict';

import { APIError, AcontextClient, buildAcontextMessage } from '@acontext/acontext';

const FORMATS = ['openai', 'anthropic', 'gemini', 'acontext'];
const client = new AcontextClient({
  apiKey: process.env.ACONTEXT_API_KEY,
  baseUrl: process.env.ACONTEXT_BASE_URL,
});
const tag = `ts-${process.pid}-${Date.now()}`;

/** The texts one item says, whatever its wire format. */
function textsOf(format, item) {
  if (format === 'openai' || format === 'anthropic') {
    // String content stays a string, a list stays a list (conversion.md "mirror the form").
    return typeof item.content === 'string' ? [item.content] : item.content.map((part) => part.text);
  }
  return item.parts.map((part) => part.text); // gemini and acontext
}

/**
 * Every page of a session's messages in one direction, `limit` at a time. `timeDesc` picks the
 * newest window first; items within a page are always oldest to newest (as upstream).
 */
async function readAll(sessionId, format, timeDesc, limit) {
  const pages = [];
  const ids = [];
  let cursor = null;
  do {
    const page = await client.sessions.getMessages(sessionId, { format, timeDesc, limit, cursor });
    assert.equal(page.items.length, page.ids.length, `${format}: one id per item`);
    assert.ok(page.items.length <= limit, `${format}: page within limit`);
    pages.push(page.items.flatMap((item) => textsOf(format, item)));
    ids.push(page.ids);
    cursor = page.has_more ? page.next_cursor : null;
    assert.ok(!page.has_more || cursor, `${format}: has_more comes with a cursor`);
    assert.ok(pages.length < 20, `${format}: paging terminates`);
  } while (cursor);
  return { pages, ids };
}

async function rejects(promise, statusCode, what) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof APIError, `${what}: APIError, got ${error}`);
    assert.equal(error.statusCode, statusCode, `${what}: HTTP ${statusCode}, got ${error.statusCode}`);
    return true;
  });
}

const session = await client.sessions.create({ configs: { suite: tag }, user: 'dropped-by-0.0.16' });
assert.equal(session.space_id, null);
assert.deepEqual(session.configs, { suite: tag });

// Store one message per format, alternating roles so no format merges turns.
const stored = [
  await client.sessions.storeMessage(session.id, { role: 'user', content: 'm1 openai' }, { format: 'openai' }),
  await client.sessions.storeMessage(
    session.id,
    { role: 'assistant', content: [{ type: 'text', text: 'm2 anthropic' }] },
    { format: 'anthropic' },
  ),
  await client.sessions.storeMessage(session.id, { role: 'user', parts: [{ text: 'm3 gemini' }] }, { format: 'gemini' }),
  await client.sessions.storeMessage(
    session.id,
    buildAcontextMessage({ role: 'assistant', parts: ['m4 acontext'] }),
    // `meta` is not an option of 0.0.16: it is silently dropped.
    { format: 'acontext', meta: { dropped: true } },
  ),
];
const expected = ['m1 openai', 'm2 anthropic', 'm3 gemini', 'm4 acontext'];
assert.deepEqual(stored.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
assert.deepEqual(stored[3].meta, {}, 'meta is not sent by 0.0.16');
assert.equal(stored[1].parent_id, stored[0].id);

// The public docs' call shape `storeMessage(id, {blob, format, meta})`: the SDK sends the whole
// object as an OpenAI blob, which is no valid message. A clean 400, and nothing stored.
await rejects(
  client.sessions.storeMessage(session.id, {
    blob: { role: 'user', content: 'Hello' },
    format: 'openai',
    meta: { source: 'web' },
  }),
  400,
  "docs' storeMessage call shape",
);

const reads = {};
for (const format of FORMATS) {
  const ascending = await readAll(session.id, format, false, 1);
  const descending = await readAll(session.id, format, true, 3);
  assert.deepEqual(ascending.pages, expected.map((text) => [text]), `${format} ascending`);
  assert.deepEqual(descending.pages, [expected.slice(1), expected.slice(0, 1)], `${format} descending`);
  const ids = stored.map((m) => m.id);
  assert.deepEqual(ascending.ids.flat(), ids, `${format} ascending ids`);
  assert.deepEqual(descending.ids, [ids.slice(1), ids.slice(0, 1)], `${format} descending ids`);
  reads[format] = ascending.pages.flat();
}

const listed = [];
let cursor = null;
do {
  const page = await client.sessions.list({ limit: 50, timeDesc: true, cursor });
  listed.push(...page.items.map((s) => s.id));
  cursor = page.has_more ? page.next_cursor : null;
} while (cursor && !listed.includes(session.id));
assert.ok(listed.includes(session.id), 'the new session is listed');

const counts = await client.sessions.getTokenCounts(session.id);
assert.ok(counts.total_tokens > 0);

// What 0.0.16 has but this message store does not serve, and what it lacks.
await rejects(client.sessions.connectToSpace(session.id, { spaceId: session.id }), 404, 'connectToSpace');
await rejects(client.sessions.getLearningStatus(session.id), 404, 'getLearningStatus');
await rejects(client.spaces.list(), 404, 'spaces');
await rejects(client.disks.list(), 404, 'disks');
await rejects(client.blocks.list(session.id), 404, 'blocks');
await rejects(client.tools.getToolName(), 404, 'tools');
for (const method of ['patchMessageMeta', 'patchConfigs', 'copy', 'addEvent', 'getEvents']) {
  assert.equal(typeof client.sessions[method], 'undefined', `0.0.16 has no sessions.${method}`);
}
assert.equal(client.users, undefined);
assert.equal(client.project, undefined);

// A second session stays after the first is deleted.
const other = await client.sessions.create();
await client.sessions.delete(session.id);
await rejects(client.sessions.getMessages(session.id), 404, 'reading a deleted session');
await rejects(client.sessions.delete(session.id), 404, 'deleting twice');

console.log(
  JSON.stringify({ session_id: session.id, other_session_id: other.id, message_ids: stored.map((m) => m.id), reads }),
);
