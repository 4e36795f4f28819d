#!/usr/bin/env node
/**
 * A consumer group member in plain JavaScript (Node 20+, no dependencies), against a running Shoal
 * (`npm start`, or SHOAL_URL). It produces a few orders, then consumes them as a member of a group
 * until the group has no lag, and leaves.
 *
 *   node examples/group-consumer.mjs                       # at least once, with an inbox
 *   node examples/group-consumer.mjs --mode at-most-once   # commit before processing
 *   node examples/group-consumer.mjs --crash-after 7       # dies after processing 7, before committing
 *
 * Environment: SHOAL_URL (default http://127.0.0.1:8092), TOPIC (default example-orders),
 * GROUP (default example-billing), RECORDS (default 20), SESSION_TIMEOUT_MS (default 10000),
 * INBOX_FILE (where the inbox is kept between runs; in memory when unset).
 *
 * It prints one JSON line at the end: what it processed, and the group's lag (0 when done).
 */

const baseUrl = process.env.SHOAL_URL ?? 'http://127.0.0.1:8092';
const topic = process.env.TOPIC ?? 'example-orders';
const group = process.env.GROUP ?? 'example-billing';
const recordCount = Number(process.env.RECORDS ?? 20);
const mode = process.argv.includes('--mode')
  ? process.argv[process.argv.indexOf('--mode') + 1]
  : 'at-least-once';
if (mode !== 'at-least-once' && mode !== 'at-most-once') throw new Error(`unknown --mode ${mode}`);
const crashAfter = process.argv.includes('--crash-after')
  ? Number(process.argv[process.argv.indexOf('--crash-after') + 1])
  : undefined;
const sessionTimeoutMs = Number(process.env.SESSION_TIMEOUT_MS ?? 10_000);
const inboxFile = process.env.INBOX_FILE;

/** JSON over HTTP; throws on any status but the expected ones. */
async function call(method, path, body, expected = [200]) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = text === '' ? undefined : JSON.parse(text);
  if (!expected.includes(response.status)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  }
  return { status: response.status, body: json };
}

// 1. A topic with a few keyed orders (the key keeps one customer's orders in order).
await call('POST', '/v1/topics', { name: topic, partitions: 3 }, [201, 409]);
if (recordCount > 0) {
  await call('POST', `/v1/topics/${topic}/records`, {
    records: Array.from({ length: recordCount }, (_, i) => ({
      key: { type: 'STRING', data: `customer-${i % 5}` },
      value: { type: 'JSON', data: { order: i, amount: 10 + i } },
    })),
  });
}

// 2. The inbox: what this consumer has already processed, keyed by topic-partition-offset. A real
// service keeps it in its own database and writes it in the same transaction as the effect, so
// a record delivered twice (after a crash between processing and commit) is applied once.
const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
const inbox = new Set(inboxFile && existsSync(inboxFile) ? JSON.parse(readFileSync(inboxFile, 'utf8')) : []);
const saveInbox = () => inboxFile && writeFileSync(inboxFile, JSON.stringify([...inbox]));
let processed = 0;
let duplicatesSkipped = 0;
function handle(record, partition) {
  const id = `${topic}-${partition}-${record.offset}`;
  if (inbox.has(id)) {
    duplicatesSkipped++;
    return;
  }
  inbox.add(id); // with the effect, atomically
  processed++;
  saveInbox();
  if (processed === crashAfter) {
    console.log(JSON.stringify({ crashed: true, processed }));
    process.exit(1); // processed, not committed: the next owner gets these records again
  }
}

// 3. Join, then poll: fetch each assigned partition from its position, process, commit.
let member = (await call('POST', `/v1/groups/${group}/members`, { topics: [topic], sessionTimeoutMs })).body;
const positions = new Map();

/** Positions of newly assigned partitions start at the group's committed offsets (0 if none). */
async function adopt(answer) {
  member = answer;
  const described = (await call('GET', `/v1/groups/${group}`)).body;
  for (const { partition } of member.assignments) {
    if (positions.has(partition)) continue;
    const row = described.offsets.find((offset) => offset.topic === topic && offset.partition === partition);
    positions.set(partition, row?.committedOffset ?? 0);
  }
  for (const partition of positions.keys()) {
    if (!member.assignments.some((tp) => tp.partition === partition)) positions.delete(partition);
  }
}

async function commit(partition, offset) {
  const answer = await call(
    'POST',
    `/v1/groups/${group}/offsets`,
    { memberId: member.memberId, generation: member.generation, offsets: [{ topic, partition, offset }] },
    [200, 409],
  );
  // 409: fenced (a rebalance happened). Heartbeat to learn the new generation and assignments.
  if (answer.status === 409) await heartbeat();
  return answer.status === 200;
}

async function heartbeat() {
  const answer = await call(
    'POST',
    `/v1/groups/${group}/members/${member.memberId}/heartbeat`,
    { generation: member.generation },
    [200, 409],
  );
  if (answer.status === 409) {
    positions.clear(); // expired: rejoin as a new member
    await adopt(
      (await call('POST', `/v1/groups/${group}/members`, { topics: [topic], sessionTimeoutMs })).body,
    );
  } else {
    await adopt(answer.body);
  }
}

async function groupLag() {
  const described = (await call('GET', `/v1/groups/${group}`)).body;
  return described.offsets.reduce((sum, row) => sum + (row.lag ?? row.highWatermark), 0);
}

await adopt(member);
const deadline = Date.now() + 60_000;
let lag = await groupLag();
while (Date.now() < deadline) {
  let fetched = 0;
  for (const [partition, offset] of [...positions]) {
    const page = (
      await call('GET', `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=100`)
    ).body;
    if (page.records.length === 0) continue;
    fetched += page.records.length;
    if (mode === 'at-most-once') {
      // Commit first: a crash after this line loses these records, never repeats them.
      if (!(await commit(partition, page.nextOffset))) continue;
      for (const record of page.records) handle(record, partition);
    } else {
      // Process first: a crash before the commit repeats these records, never loses them.
      for (const record of page.records) handle(record, partition);
      if (!(await commit(partition, page.nextOffset))) continue;
    }
    positions.set(partition, page.nextOffset);
  }
  if (fetched === 0) {
    // Caught up with our partitions; others may still belong to a member that died (until its
    // session times out and they come to us), so stop only when the whole group has no lag.
    lag = await groupLag();
    if (lag === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await heartbeat();
}

lag = await groupLag();
await call('DELETE', `/v1/groups/${group}/members/${member.memberId}`, undefined, [204]);
console.log(JSON.stringify({ mode, group, processed, duplicatesSkipped, lag }));
