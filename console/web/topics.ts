/**
 * Topics: the list (partitions, records, bytes, retention, and how much of each topic is in
 * DynamoDB and how much in S3), creating one, and one topic's page (its partitions drawn as offset
 * bars, altering and deleting it).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type PartitionState, request, seg, type TopicDescription, type TopicSummary } from './api.js';
import { bytes, count, duration } from './format.js';
import { Empty, href, Loading, mapLimited, ProblemBox, usePoll } from './ui.js';

/** Topic descriptions read at once when the list fills in its figures. */
const DESCRIBE_CONCURRENCY = 8;

/** How often the list and a topic's page refresh. */
const REFRESH_MS = 5000;

/** A topic's or partition's records by tier. */
export interface TierCounts {
  readonly records: number;
  /** Records in S3 segments: [logStartOffset, archivedOffset). */
  readonly archived: number;
  /** Records in DynamoDB: [max(logStartOffset, archivedOffset), highWatermark). */
  readonly hot: number;
  /** Bytes of the S3 segments, when the API says. */
  readonly archivedBytes: number | undefined;
}

export function tiers(partitions: readonly PartitionState[]): TierCounts {
  let records = 0;
  let archived = 0;
  let archivedBytes: number | undefined = 0;
  for (const partition of partitions) {
    records += partition.highWatermark - partition.logStartOffset;
    archived += Math.max(0, partition.archivedOffset - partition.logStartOffset);
    archivedBytes =
      archivedBytes === undefined || partition.archivedBytes === undefined
        ? undefined
        : archivedBytes + partition.archivedBytes;
  }
  return { records, archived, hot: records - archived, archivedBytes };
}

/** The topics page. */
export function TopicsPage() {
  const list = usePoll(
    () => request<{ topics: TopicSummary[] }>('GET', '/v1/topics').then((answer) => answer.topics),
    REFRESH_MS,
    'topics',
  );
  // Figures come from each topic's description, read a few at a time after the list shows.
  const figures = usePoll(
    async () => {
      const topics = list.data ?? [];
      const described = await mapLimited(topics, DESCRIBE_CONCURRENCY, (topic) =>
        request<TopicDescription>('GET', `/v1/topics/${seg(topic.name)}`).then(
          (description) => [topic.name, tiers(description.partitions)] as const,
          () => [topic.name, undefined] as const,
        ),
      );
      return new Map(described);
    },
    0,
    (list.data ?? []).map((topic) => topic.name).join(','),
  );
  return html`<section aria-labelledby="topics-title">
    <h1 id="topics-title">Topics</h1>
    <${CreateTopicForm} onCreated=${list.reload} />
    ${list.error ? html`<${ProblemBox} error=${list.error} onRetry=${list.reload} />` : null}
    ${
      list.data === undefined
        ? list.loading
          ? html`<${Loading} what="topics" />`
          : null
        : list.data.length === 0
          ? html`<${Empty}><p>No topics yet. Create one above, or with <code>POST /v1/topics</code>.</p><//>`
          : html`<${TopicTable} topics=${list.data} figures=${figures.data} />`
    }
  </section>`;
}

function TopicTable({
  topics,
  figures,
}: {
  topics: readonly TopicSummary[];
  figures: ReadonlyMap<string, TierCounts | undefined> | undefined;
}) {
  const cell = (value: string | undefined) =>
    value ?? html`<span class="pending" aria-label="loading">...</span>`;
  return html`<div class="table-wrap">
    <table class="topics">
      <thead>
        <tr>
          <th scope="col">Topic</th>
          <th scope="col" class="num">Partitions</th>
          <th scope="col" class="num">Records</th>
          <th scope="col" class="num">In DynamoDB</th>
          <th scope="col" class="num">In S3</th>
          <th scope="col" class="num">S3 bytes</th>
          <th scope="col" class="num">Retention</th>
        </tr>
      </thead>
      <tbody>
        ${topics.map((topic) => {
          const figure = figures?.get(topic.name);
          return html`<tr key=${topic.name} data-topic=${topic.name}>
            <th scope="row"><a href=${href('topics', topic.name)}>${topic.name}</a></th>
            <td class="num">${topic.partitionCount}</td>
            <td class="num" data-field="records">${cell(figure && count(figure.records))}</td>
            <td class="num">${cell(figure && count(figure.hot))}</td>
            <td class="num">${cell(figure && count(figure.archived))}</td>
            <td class="num">
              ${cell(figure && (figure.archivedBytes === undefined ? 'n/a' : bytes(figure.archivedBytes)))}
            </td>
            <td class="num">${duration(topic.config.retentionMs)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

/** A form's pending call and its problem. */
function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (call: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await call();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

/** The API's number for a field left empty: undefined, so the API's default applies. */
const optionalNumber = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

function CreateTopicForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('3');
  const [retentionMs, setRetentionMs] = useState('');
  const [created, setCreated] = useState<string | undefined>(undefined);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setCreated(undefined);
    void submit(async () => {
      // Sent as typed: the API's validation, and its messages, are the only ones.
      const body: Record<string, unknown> = { name, partitions: Number(partitions) };
      const retention = optionalNumber(retentionMs);
      if (retention !== undefined) body.retentionMs = retention;
      await request('POST', '/v1/topics', body);
      setCreated(name);
      setName('');
      onCreated();
    });
  };
  return html`<form class="card form-inline" onSubmit=${onSubmit} aria-label="Create a topic">
    <h2>Create a topic</h2>
    <label>Name <input name="name" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} required /></label>
    <label>Partitions <input name="partitions" type="number" inputmode="numeric" value=${partitions}
      onInput=${(e: Event) => setPartitions((e.target as HTMLInputElement).value)} /></label>
    <label>Retention (ms) <input name="retentionMs" type="number" inputmode="numeric" placeholder="7 days" value=${retentionMs}
      onInput=${(e: Event) => setRetentionMs((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" disabled=${busy}>${busy ? 'Creating...' : 'Create'}</button>
    ${created ? html`<p class="ok" role="status">Created <a href=${href('topics', created)}>${created}</a>.</p>` : null}
    ${error ? html`<${ProblemBox} error=${error} />` : null}
  </form>`;
}

/**
 * One partition's offsets on one bar from 0 to the high watermark: deleted by retention (below
 * logStartOffset), in S3 (up to archivedOffset), in DynamoDB (up to highWatermark).
 */
export function OffsetBar({ partition }: { partition: PartitionState }) {
  const { logStartOffset, archivedOffset, highWatermark } = partition;
  const total = Math.max(1, highWatermark);
  const archivedEnd = Math.max(logStartOffset, archivedOffset);
  const percent = (value: number) => `${((100 * value) / total).toFixed(2)}%`;
  const label =
    `Partition ${partition.partition}: logStartOffset ${logStartOffset}, ` +
    `archivedOffset ${archivedOffset}, highWatermark ${highWatermark}`;
  return html`<div class="offset-bar-wrap">
    <div class="offset-bar" role="img" aria-label=${label}>
      <span class="bar-deleted" style=${{ width: percent(logStartOffset) }}></span>
      <span class="bar-s3" style=${{ width: percent(archivedEnd - logStartOffset) }}></span>
      <span class="bar-dynamodb" style=${{ width: percent(highWatermark - archivedEnd) }}></span>
    </div>
    <dl class="offset-legend">
      <div><dt><span class="swatch bar-deleted"></span>logStartOffset</dt><dd data-field="logStartOffset">${count(logStartOffset)}</dd></div>
      <div><dt><span class="swatch bar-s3"></span>archivedOffset</dt><dd data-field="archivedOffset">${count(archivedOffset)}</dd></div>
      <div><dt><span class="swatch bar-dynamodb"></span>highWatermark</dt><dd data-field="highWatermark">${count(highWatermark)}</dd></div>
    </dl>
  </div>`;
}

/** One topic: its partitions, settings, and altering or deleting it. */
export function TopicPage({ name }: { name: string }) {
  const topic = usePoll(
    () => request<TopicDescription>('GET', `/v1/topics/${seg(name)}`),
    REFRESH_MS,
    `topic:${name}`,
  );
  if (topic.data === undefined) {
    return html`<section>
      <h1>Topic ${name}</h1>
      ${topic.error ? html`<${ProblemBox} error=${topic.error} onRetry=${topic.reload} />` : html`<${Loading} what="the topic" />`}
    </section>`;
  }
  const description = topic.data;
  const total = tiers(description.partitions);
  return html`<section aria-labelledby="topic-title">
    <p class="crumbs"><a href=${href('topics')}>Topics</a> /</p>
    <h1 id="topic-title">${description.name}</h1>
    ${topic.error ? html`<${ProblemBox} error=${topic.error} />` : null}
    <p class="summary">
      ${description.partitionCount} partitions, ${count(total.records)} records
      (${count(total.hot)} in DynamoDB, ${count(total.archived)} in S3),
      ${`retention ${duration(description.config.retentionMs)}`}, created ${new Date(description.createdAt).toLocaleString()}.
    </p>
    <ul class="partitions">
      ${description.partitions.map(
        (partition) => html`<li key=${partition.partition}>
          <a href=${href('topics', name, 'partitions', partition.partition)}>Partition ${partition.partition}</a>
          <${OffsetBar} partition=${partition} />
        </li>`,
      )}
    </ul>
    <${AlterTopicForm} topic=${description} onAltered=${topic.reload} />
    <${DeleteTopic} name=${name} />
  </section>`;
}

function AlterTopicForm({ topic, onAltered }: { topic: TopicDescription; onAltered: () => void }) {
  const [partitions, setPartitions] = useState('');
  const [retentionMs, setRetentionMs] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setDone(false);
    void submit(async () => {
      const body: Record<string, unknown> = {};
      const count = optionalNumber(partitions);
      const retention = optionalNumber(retentionMs);
      if (count !== undefined) body.partitions = count;
      if (retention !== undefined) body.retentionMs = retention;
      await request('PATCH', `/v1/topics/${seg(topic.name)}`, body);
      setDone(true);
      onAltered();
    });
  };
  return html`<form class="card form-inline" onSubmit=${onSubmit} aria-label="Alter the topic">
    <h2>Alter</h2>
    <label>Partitions <input name="partitions" type="number" inputmode="numeric" placeholder=${String(topic.partitionCount)}
      value=${partitions} onInput=${(e: Event) => setPartitions((e.target as HTMLInputElement).value)} /></label>
    <label>Retention (ms) <input name="retentionMs" type="number" inputmode="numeric" placeholder=${String(topic.config.retentionMs)}
      value=${retentionMs} onInput=${(e: Event) => setRetentionMs((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" disabled=${busy}>Save</button>
    ${done ? html`<p class="ok" role="status">Saved.</p>` : null}
    ${error ? html`<${ProblemBox} error=${error} />` : null}
  </form>`;
}

function DeleteTopic({ name }: { name: string }) {
  const [confirming, setConfirming] = useState(false);
  const { busy, error, submit } = useSubmit();
  const remove = () =>
    submit(async () => {
      await request('DELETE', `/v1/topics/${seg(name)}`);
      window.location.hash = href('topics');
    });
  return html`<div class="card danger">
    <h2>Delete</h2>
    <p>Deleting the topic drops all of its records; a topic of the same name can be created again.</p>
    ${
      confirming
        ? html`<button type="button" class="danger" disabled=${busy} onClick=${remove}>Delete ${name} now</button>
            <button type="button" onClick=${() => setConfirming(false)}>Keep it</button>`
        : html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete topic...</button>`
    }
    ${error ? html`<${ProblemBox} error=${error} />` : null}
  </div>`;
}

export { useSubmit };
