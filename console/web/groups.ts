/**
 * Consumer groups: the list, and one group's state, members and their partitions, committed
 * offsets and lag per partition, a lag chart that the page extends every few seconds for as long
 * as it is open, and resetting offsets (the API's rules: only while the group has no live members).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type GroupDescription, request, seg } from './api.js';
import { TimeChart } from './chart.js';
import { count } from './format.js';
import { useSubmit } from './topics.js';
import { Empty, href, Loading, mapLimited, ProblemBox, usePoll } from './ui.js';

/** How often a group's page reads its lag. */
export const LAG_POLL_MS = 2000;
/** Points kept on a lag chart: 10 minutes at one every 2 s. */
const LAG_POINTS_MAX = 300;
/** Lines on a lag chart besides the total: the partitions with the largest lag. */
const LAG_SERIES_MAX = 6;
/** Group descriptions read at once for the list. */
const DESCRIBE_CONCURRENCY = 8;

interface GroupSummary {
  readonly group: string;
  readonly createdAt: string;
}

/** Sum of the known lags; null when no partition has a committed offset. */
export function totalLag(description: GroupDescription): number | null {
  const known = description.offsets.filter((offset) => offset.lag !== null);
  return known.length === 0 ? null : known.reduce((sum, offset) => sum + (offset.lag ?? 0), 0);
}

export function GroupsPage() {
  const groups = usePoll(
    async () => {
      const { groups } = await request<{ groups: GroupSummary[] }>('GET', '/v1/groups');
      return mapLimited(groups, DESCRIBE_CONCURRENCY, (summary) =>
        request<GroupDescription>('GET', `/v1/groups/${seg(summary.group)}`).catch(() => undefined),
      ).then((descriptions) =>
        groups.map((summary, index) => ({ summary, description: descriptions[index] })),
      );
    },
    5000,
    'groups',
  );
  return html`<section aria-labelledby="groups-title">
    <h1 id="groups-title">Consumer groups</h1>
    ${groups.error ? html`<${ProblemBox} error=${groups.error} onRetry=${groups.reload} />` : null}
    ${
      groups.data === undefined
        ? groups.loading
          ? html`<${Loading} what="consumer groups" />`
          : null
        : groups.data.length === 0
          ? html`<${Empty}><p>No consumer groups yet: a group appears when a consumer joins it or commits an offset.</p><//>`
          : html`<div class="table-wrap"><table>
              <thead><tr><th scope="col">Group</th><th scope="col">State</th><th scope="col" class="num">Members</th><th scope="col" class="num">Lag</th></tr></thead>
              <tbody>
                ${groups.data.map(
                  ({ summary, description }) => html`<tr key=${summary.group}>
                    <th scope="row"><a href=${href('groups', summary.group)}>${summary.group}</a></th>
                    <td>${description?.state ?? '-'}</td>
                    <td class="num">${description ? description.members.length : '-'}</td>
                    <td class="num">${description ? (totalLag(description) ?? 'none committed') : '-'}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`
    }
  </section>`;
}

/** One group's lag readings: the time and the lag of each partition (`topic/partition`). */
interface LagHistory {
  readonly times: number[];
  readonly lags: Map<string, (number | null)[]>;
  readonly totals: (number | null)[];
}

/** Lag readings per group, kept while the console is open so that leaving a page loses nothing. */
const histories = new Map<string, LagHistory>();

function record(group: string, description: GroupDescription): LagHistory {
  const history: LagHistory = histories.get(group) ?? { times: [], lags: new Map(), totals: [] };
  histories.set(group, history);
  const index = history.times.length;
  history.times.push(Date.now() / 1000);
  history.totals.push(totalLag(description));
  for (const offset of description.offsets) {
    const name = `${offset.topic}/${offset.partition}`;
    const values = history.lags.get(name) ?? new Array<number | null>(index).fill(null);
    values.push(offset.lag);
    history.lags.set(name, values);
  }
  for (const values of history.lags.values()) if (values.length === index) values.push(null);
  if (history.times.length > LAG_POINTS_MAX) {
    history.times.shift();
    history.totals.shift();
    for (const values of history.lags.values()) values.shift();
  }
  return history;
}

function chartData(history: LagHistory): { series: string[]; data: (number | null)[][] } {
  const latest = (values: (number | null)[]) => values[values.length - 1] ?? 0;
  const busiest = [...history.lags.entries()]
    .sort(([, a], [, b]) => latest(b) - latest(a))
    .slice(0, LAG_SERIES_MAX)
    .sort(([a], [b]) => a.localeCompare(b));
  return {
    series: ['total', ...busiest.map(([name]) => name)],
    data: [[...history.times], [...history.totals], ...busiest.map(([, values]) => [...values])],
  };
}

export function GroupPage({ group }: { group: string }) {
  const [chart, setChart] = useState<{ series: string[]; data: (number | null)[][] } | undefined>(
    histories.has(group) ? chartData(histories.get(group) as LagHistory) : undefined,
  );
  const described = usePoll(
    async () => {
      const description = await request<GroupDescription>('GET', `/v1/groups/${seg(group)}`);
      setChart(chartData(record(group, description)));
      return description;
    },
    LAG_POLL_MS,
    `group:${group}`,
  );
  const description = described.data;
  return html`<section aria-labelledby="group-title">
    <p class="crumbs"><a href=${href('groups')}>Consumer groups</a> /</p>
    <h1 id="group-title">${group}</h1>
    ${described.error ? html`<${ProblemBox} error=${described.error} onRetry=${described.reload} />` : null}
    ${
      description === undefined
        ? described.loading
          ? html`<${Loading} what="the group" />`
          : null
        : html`
          <p class="summary">
            State <b data-field="state">${description.state}</b>
            ${`, generation ${description.generation}, ${description.members.length} live member(s), total lag `}
            <b data-field="lag">${totalLag(description) ?? 'none committed'}</b>.
          </p>
          <div class="card">
            <h2>Lag over time</h2>
            ${chart ? html`<${TimeChart} label="Lag of ${group}" series=${chart.series} data=${chart.data} unit="records" />` : null}
          </div>
          <${Members} description=${description} />
          <${Offsets} description=${description} />
          <${ResetForm} description=${description} onReset=${described.reload} />`
    }
  </section>`;
}

function Members({ description }: { description: GroupDescription }) {
  return html`<div class="card">
    <h2>Members</h2>
    ${
      description.members.length === 0
        ? html`<${Empty}><p>No live members: standalone consumers commit without joining, and offsets can be reset.</p><//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Member</th><th scope="col">Partitions</th><th scope="col">Last heartbeat</th></tr></thead>
            <tbody>${description.members.map(
              (member) => html`<tr key=${member.memberId}>
                <th scope="row"><code>${member.memberId}</code></th>
                <td>${member.assignments.map((assignment) => `${assignment.topic}/${assignment.partition}`).join(', ') || 'none'}</td>
                <td><time datetime=${member.lastHeartbeat}>${new Date(member.lastHeartbeat).toLocaleTimeString()}</time></td>
              </tr>`,
            )}</tbody>
          </table></div>`
    }
  </div>`;
}

function Offsets({ description }: { description: GroupDescription }) {
  return html`<div class="card">
    <h2>Committed offsets</h2>
    ${
      description.offsets.length === 0
        ? html`<${Empty}><p>Nothing committed yet.</p><//>`
        : html`<div class="table-wrap"><table class="offsets">
            <thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partition</th><th scope="col" class="num">Committed</th><th scope="col" class="num">High watermark</th><th scope="col" class="num">Lag</th></tr></thead>
            <tbody>${description.offsets.map(
              (offset) => html`<tr key=${`${offset.topic}/${offset.partition}`}>
                <td><a href=${href('topics', offset.topic)}>${offset.topic}</a></td>
                <td class="num"><a href=${href('topics', offset.topic, 'partitions', offset.partition)}>${offset.partition}</a></td>
                <td class="num">${offset.committedOffset === null ? 'none' : count(offset.committedOffset)}</td>
                <td class="num">${count(offset.highWatermark)}</td>
                <td class="num">${offset.lag === null ? '-' : count(offset.lag)}</td>
              </tr>`,
            )}</tbody>
          </table></div>`
    }
  </div>`;
}

type ResetTo = 'earliest' | 'latest' | 'timestamp' | 'offset';

function ResetForm({ description, onReset }: { description: GroupDescription; onReset: () => void }) {
  const topics = [...new Set(description.offsets.map((offset) => offset.topic))];
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState<ResetTo>('earliest');
  const [at, setAt] = useState('');
  const [partitions, setPartitions] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (event: Event) => {
    event.preventDefault();
    setDone(false);
    void submit(async () => {
      const target = to === 'timestamp' ? { timestamp: at } : to === 'offset' ? { offset: Number(at) } : to;
      const body: Record<string, unknown> = { topic, to: target };
      if (partitions.trim() !== '')
        body.partitions = partitions.split(',').map((part) => Number(part.trim()));
      await request('POST', `/v1/groups/${seg(description.group)}/offsets/reset`, body);
      setDone(true);
      onReset();
    });
  };
  return html`<form class="card form-inline" onSubmit=${onSubmit} aria-label="Reset offsets">
    <h2>Reset offsets</h2>
    <p class="hint">Allowed only while the group has no live members, as in the API.</p>
    <label>Topic <input name="topic" list="group-topics" value=${topic} onInput=${(e: Event) => setTopic((e.target as HTMLInputElement).value)} required /></label>
    <datalist id="group-topics">${topics.map((name) => html`<option value=${name}></option>`)}</datalist>
    <label>To
      <select name="to" value=${to} onChange=${(e: Event) => setTo((e.target as HTMLSelectElement).value as ResetTo)}>
        <option value="earliest">earliest</option>
        <option value="latest">latest</option>
        <option value="timestamp">a timestamp</option>
        <option value="offset">an offset</option>
      </select>
    </label>
    ${to === 'timestamp' || to === 'offset' ? html`<label>${to === 'offset' ? 'Offset' : 'Timestamp'} <input name="at" value=${at} onInput=${(e: Event) => setAt((e.target as HTMLInputElement).value)} /></label>` : null}
    <label>Partitions <input name="partitions" placeholder="all, or 0, 2" value=${partitions} onInput=${(e: Event) => setPartitions((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" disabled=${busy}>Reset</button>
    ${done ? html`<p class="ok" role="status">Offsets reset.</p>` : null}
    ${error ? html`<${ProblemBox} error=${error} />` : null}
  </form>`;
}
