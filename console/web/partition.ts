/**
 * One partition: its offsets on a bar, a message browser (from an offset, a timestamp, the
 * beginning or the end; key and value as JSON, text or hex; headers; a filter by key) and a form
 * that produces a record.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import {
  type FetchAnswer,
  type FetchedRecord,
  request,
  seg,
  type TopicDescription,
  type TypedData,
} from './api.js';
import { count, headerText, type Rendering, renderData, textToBase64 } from './format.js';
import { OffsetBar, useSubmit } from './topics.js';
import { Empty, href, Loading, ProblemBox, usePoll } from './ui.js';

/** Records on one page of the browser. */
export const RECORDS_PER_PAGE = 50;

/** Where the browser starts reading. */
type StartFrom = 'beginning' | 'end' | 'offset' | 'timestamp';

export function PartitionPage({ topic, partition }: { topic: string; partition: number }) {
  const description = usePoll(
    () => request<TopicDescription>('GET', `/v1/topics/${seg(topic)}`),
    5000,
    `partition:${topic}`,
  );
  const state = description.data?.partitions.find((candidate) => candidate.partition === partition);
  return html`<section aria-labelledby="partition-title">
    <p class="crumbs"><a href=${href('topics')}>Topics</a> / <a href=${href('topics', topic)}>${topic}</a> /</p>
    <h1 id="partition-title">Partition ${partition}</h1>
    ${description.error ? html`<${ProblemBox} error=${description.error} onRetry=${description.reload} />` : null}
    ${
      description.data === undefined
        ? description.loading
          ? html`<${Loading} what="the partition" />`
          : null
        : state === undefined
          ? html`<${ProblemBox} error=${`Topic ${topic} has no partition ${partition} (it has ${description.data.partitionCount}).`} />`
          : html`<${OffsetBar} partition=${state} />`
    }
    <${MessageBrowser} topic=${topic} partition=${partition} />
    <${ProduceForm} topic=${topic} partition=${partition} onProduced=${description.reload} />
  </section>`;
}

interface BrowseQuery {
  readonly from: StartFrom;
  readonly offset: string;
  readonly timestamp: string;
}

async function startOffset(topic: string, partition: number, query: BrowseQuery): Promise<number> {
  const base = `/v1/topics/${seg(topic)}/partitions/${partition}`;
  switch (query.from) {
    case 'offset':
      return Number(query.offset);
    case 'timestamp': {
      const at = new Date(query.timestamp);
      const timestamp = Number.isNaN(at.getTime()) ? query.timestamp : at.toISOString();
      const answer = await request<{ offset: number }>(
        'GET',
        `${base}/offsets?timestamp=${encodeURIComponent(timestamp)}`,
      );
      return answer.offset;
    }
    case 'beginning':
    case 'end': {
      // An empty read answers the partition's bounds.
      const bounds = await request<FetchAnswer>('GET', `${base}/records?offset=0&maxRecords=1`).catch(
        (error: unknown) => {
          const body = (error as { body?: { logStartOffset?: number; highWatermark?: number } }).body;
          if (body?.logStartOffset === undefined || body.highWatermark === undefined) throw error;
          return { logStartOffset: body.logStartOffset, highWatermark: body.highWatermark } as FetchAnswer;
        },
      );
      if (query.from === 'beginning') return bounds.logStartOffset;
      return Math.max(bounds.logStartOffset, bounds.highWatermark - RECORDS_PER_PAGE);
    }
  }
}

function MessageBrowser({ topic, partition }: { topic: string; partition: number }) {
  const [query, setQuery] = useState<BrowseQuery>({ from: 'beginning', offset: '0', timestamp: '' });
  const [rendering, setRendering] = useState<Rendering>('json');
  const [keyFilter, setKeyFilter] = useState('');
  const [page, setPage] = useState<FetchAnswer | undefined>(undefined);
  const { busy, error, submit } = useSubmit();
  const fetchFrom = (offset: number) =>
    request<FetchAnswer>(
      'GET',
      `/v1/topics/${seg(topic)}/partitions/${partition}/records?offset=${offset}&maxRecords=${RECORDS_PER_PAGE}`,
    );
  const read = (offsetOverride?: number) =>
    submit(async () => {
      if (offsetOverride === undefined && query.from === 'beginning') {
        // One call, not two: offset 0 is the beginning until retention deletes it, and then the
        // 416 answer names the logStartOffset to read from.
        setPage(
          await fetchFrom(0).catch((error: unknown) => {
            const logStartOffset = (error as { body?: { logStartOffset?: unknown } }).body?.logStartOffset;
            if (typeof logStartOffset !== 'number') throw error;
            return fetchFrom(logStartOffset);
          }),
        );
        return;
      }
      setPage(await fetchFrom(offsetOverride ?? (await startOffset(topic, partition, query))));
    });
  const onSubmit = (event: Event) => {
    event.preventDefault();
    void read();
  };
  // The first page from the beginning shows at once; the form picks another start.
  useEffect(() => {
    void read();
  }, [topic, partition]);
  const set = (field: keyof BrowseQuery) => (event: Event) =>
    setQuery({ ...query, [field]: (event.target as HTMLInputElement).value });
  const shown = page?.records.filter(
    (record) => keyFilter === '' || renderData(record.key, 'text').includes(keyFilter),
  );
  return html`<div class="card">
    <h2>Records</h2>
    <form class="form-inline" onSubmit=${onSubmit} aria-label="Browse records">
      <label>From
        <select name="from" value=${query.from} onChange=${set('from')}>
          <option value="beginning">the beginning</option>
          <option value="end">the end</option>
          <option value="offset">an offset</option>
          <option value="timestamp">a timestamp</option>
        </select>
      </label>
      ${query.from === 'offset' ? html`<label>Offset <input name="offset" type="number" inputmode="numeric" value=${query.offset} onInput=${set('offset')} /></label>` : null}
      ${query.from === 'timestamp' ? html`<label>Timestamp <input name="timestamp" placeholder="2026-12-01T12:00:00Z" value=${query.timestamp} onInput=${set('timestamp')} /></label>` : null}
      <button type="submit" disabled=${busy}>Read</button>
      <label>Show as
        <select name="rendering" value=${rendering} onChange=${(e: Event) => setRendering((e.target as HTMLSelectElement).value as Rendering)}>
          <option value="json">JSON</option>
          <option value="text">text</option>
          <option value="hex">hex</option>
        </select>
      </label>
      <label>Key contains <input name="keyFilter" value=${keyFilter} onInput=${(e: Event) => setKeyFilter((e.target as HTMLInputElement).value)} /></label>
    </form>
    ${error ? html`<${ProblemBox} error=${error} />` : null}
    ${busy && page === undefined ? html`<${Loading} what="records" />` : null}
    ${
      page === undefined || shown === undefined
        ? busy
          ? null
          : html`<${Empty}><p>Choose where to start and press Read.</p><//>`
        : html`<${RecordList} records=${shown} rendering=${rendering} />
          <p class="page-info" role="status">
            ${
              page.records.length === 0
                ? `No records from here: the partition's highWatermark is ${count(page.highWatermark)}.`
                : `Offsets ${count(page.records[0]?.offset ?? 0)} to ${count(page.nextOffset - 1)} of ${count(page.logStartOffset)} to ${count(page.highWatermark - 1)}` +
                  (keyFilter ? `; ${shown.length} with a key containing "${keyFilter}"` : '')
            }
          </p>
          ${page.nextOffset < page.highWatermark ? html`<button type="button" onClick=${() => read(page.nextOffset)}>Next ${RECORDS_PER_PAGE}</button>` : null}`
    }
  </div>`;
}

function RecordList({ records, rendering }: { records: readonly FetchedRecord[]; rendering: Rendering }) {
  if (records.length === 0) return html`<${Empty}><p>No records match.</p><//>`;
  return html`<ol class="records">
    ${records.map(
      (record) => html`<li key=${record.offset} class="record" data-offset=${record.offset}>
        <div class="record-meta">
          <span class="offset">#${record.offset}</span>
          <time datetime=${record.timestamp}>${record.timestamp}</time>
        </div>
        <div class="record-body">
          <div><span class="field">key</span> <code class="record-key">${renderData(record.key, rendering)}</code></div>
          <div><span class="field">value</span> <pre class="record-value">${renderData(record.value, rendering)}</pre></div>
          ${
            record.headers.length > 0
              ? html`<div><span class="field">headers</span>
                  <ul class="headers">${record.headers.map((header) => html`<li><code>${header.name}</code>: <code>${headerText(header.value)}</code></li>`)}</ul>
                </div>`
              : null
          }
        </div>
      </li>`,
    )}
  </ol>`;
}

type DataType = 'none' | 'JSON' | 'STRING' | 'BINARY';

/** A form field's text as the API's typed data; JSON must parse here to be sent as JSON. */
function typedData(type: DataType, text: string): TypedData | undefined {
  if (type === 'none') return undefined;
  if (type === 'JSON') {
    try {
      return { type, data: JSON.parse(text) };
    } catch (error) {
      throw new Error(`The value is not JSON: ${(error as Error).message}`);
    }
  }
  return { type, data: text };
}

/** Header lines `name: value` (values as UTF-8 text) to the API's headers. */
function parseHeaders(text: string): { name: string; value: string }[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const colon = line.indexOf(':');
      const name = (colon < 0 ? line : line.slice(0, colon)).trim();
      const value = colon < 0 ? '' : line.slice(colon + 1).trim();
      return { name, value: textToBase64(value) };
    });
}

function ProduceForm({
  topic,
  partition,
  onProduced,
}: {
  topic: string;
  partition: number;
  onProduced: () => void;
}) {
  const [keyType, setKeyType] = useState<DataType>('STRING');
  const [key, setKey] = useState('');
  const [valueType, setValueType] = useState<DataType>('JSON');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [produced, setProduced] = useState<number | undefined>(undefined);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setProduced(undefined);
    void submit(async () => {
      const record: Record<string, unknown> = { partition };
      const keyData = typedData(keyType, key);
      const valueData = typedData(valueType, value);
      if (keyData) record.key = keyData;
      if (valueData) record.value = valueData;
      const headerList = parseHeaders(headers);
      if (headerList.length > 0) record.headers = headerList;
      const answer = await request<{ records: { offset: number }[] }>(
        'POST',
        `/v1/topics/${seg(topic)}/records`,
        { records: [record] },
      );
      setProduced(answer.records[0]?.offset);
      onProduced();
    });
  };
  const typeSelect = (name: string, current: DataType, onChange: (type: DataType) => void) =>
    html`<select name=${name} value=${current} onChange=${(e: Event) => onChange((e.target as HTMLSelectElement).value as DataType)}>
      <option value="none">none</option>
      <option value="JSON">JSON</option>
      <option value="STRING">string</option>
      <option value="BINARY">binary (base64)</option>
    </select>`;
  return html`<form class="card form-grid" onSubmit=${onSubmit} aria-label="Produce a record">
    <h2>Produce a record to partition ${partition}</h2>
    <label>Key type ${typeSelect('keyType', keyType, setKeyType)}</label>
    <label>Key <input name="key" value=${key} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} /></label>
    <label>Value type ${typeSelect('valueType', valueType, setValueType)}</label>
    <label class="wide">Value <textarea name="value" rows="4" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLTextAreaElement).value)}></textarea></label>
    <label class="wide"><span>Headers, one <code>name: value</code> a line</span>
      <textarea name="headers" rows="2" value=${headers} onInput=${(e: Event) => setHeaders((e.target as HTMLTextAreaElement).value)}></textarea></label>
    <button type="submit" disabled=${busy}>${busy ? 'Producing...' : 'Produce'}</button>
    ${produced !== undefined ? html`<p class="ok" role="status">Produced at offset ${produced}.</p>` : null}
    ${error ? html`<${ProblemBox} error=${error} />` : null}
  </form>`;
}
