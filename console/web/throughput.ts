/**
 * Throughput: records per second in and out of each topic over the last minutes, sampled by the
 * console itself from the public API while it is open. In is the growth of the topic's high
 * watermarks; out is the growth of the committed offsets of every group on the topic (two groups
 * reading a topic count twice, as bytes-out does in Kafka). Nothing is counted while no console
 * page is open, so the service pays nothing for it.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { type GroupDescription, request, seg, type TopicDescription, type TopicSummary } from './api.js';
import { TimeChart } from './chart.js';
import { mapLimited, ProblemBox } from './ui.js';

/** How often the sampler reads the offsets. */
export const SAMPLE_INTERVAL_MS = 5000;
/** Samples kept: 10 minutes. */
const SAMPLES_MAX = 120;
/** Topics and groups read per sample, at most. */
const SAMPLED_TOPICS_MAX = 100;
const SAMPLED_GROUPS_MAX = 100;
/** Lines per chart: the busiest topics. */
const CHART_TOPICS_MAX = 6;
const READ_CONCURRENCY = 8;

interface Sample {
  readonly atMs: number;
  /** Per topic: the sum of its partitions' high watermarks, and of every group's committed offsets. */
  readonly produced: Map<string, number>;
  readonly consumed: Map<string, number>;
}

/** A topic's rates at one time: records per second. */
export interface Rates {
  readonly atS: number;
  readonly inPerS: Map<string, number>;
  readonly outPerS: Map<string, number>;
}

async function takeSample(): Promise<Sample> {
  const { topics } = await request<{ topics: TopicSummary[] }>('GET', '/v1/topics');
  const { groups } = await request<{ groups: { group: string }[] }>('GET', '/v1/groups');
  const atMs = Date.now();
  const produced = new Map<string, number>();
  const consumed = new Map<string, number>();
  await mapLimited(topics.slice(0, SAMPLED_TOPICS_MAX), READ_CONCURRENCY, async (topic) => {
    const description = await request<TopicDescription>('GET', `/v1/topics/${seg(topic.name)}`).catch(
      () => undefined,
    );
    if (description) {
      produced.set(
        topic.name,
        description.partitions.reduce((sum, p) => sum + p.highWatermark, 0),
      );
    }
  });
  await mapLimited(groups.slice(0, SAMPLED_GROUPS_MAX), READ_CONCURRENCY, async ({ group }) => {
    const description = await request<GroupDescription>('GET', `/v1/groups/${seg(group)}`).catch(
      () => undefined,
    );
    for (const offset of description?.offsets ?? []) {
      if (offset.committedOffset === null) continue;
      consumed.set(offset.topic, (consumed.get(offset.topic) ?? 0) + offset.committedOffset);
    }
  });
  return { atMs, produced, consumed };
}

/** Rates between two samples; a counter that went down (a reset, a recreated topic) counts 0. */
export function ratesBetween(before: Sample, after: Sample): Rates {
  const seconds = Math.max(0.001, (after.atMs - before.atMs) / 1000);
  const rate = (earlier: Map<string, number>, later: Map<string, number>) => {
    const rates = new Map<string, number>();
    for (const [topic, value] of later) {
      const previous = earlier.get(topic);
      if (previous !== undefined) rates.set(topic, Math.max(0, value - previous) / seconds);
    }
    return rates;
  };
  return {
    atS: after.atMs / 1000,
    inPerS: rate(before.produced, after.produced),
    outPerS: rate(before.consumed, after.consumed),
  };
}

/** The sampler: one for the console, running from the first visit of the page on. */
const sampler = {
  last: undefined as Sample | undefined,
  rates: [] as Rates[],
  error: undefined as unknown,
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  listeners: new Set<() => void>(),
};

function startSampler(): void {
  if (sampler.timer !== undefined || sampler.last !== undefined) return;
  const run = async () => {
    try {
      const sample = await takeSample();
      if (sampler.last) sampler.rates.push(ratesBetween(sampler.last, sample));
      if (sampler.rates.length > SAMPLES_MAX) sampler.rates.shift();
      sampler.last = sample;
      sampler.error = undefined;
    } catch (error) {
      sampler.error = error;
    }
    for (const listener of sampler.listeners) listener();
    sampler.timer = setTimeout(run, SAMPLE_INTERVAL_MS);
  };
  sampler.timer = setTimeout(run, 0);
}

function chartOf(rates: readonly Rates[], pick: (rates: Rates) => Map<string, number>) {
  const totals = new Map<string, number>();
  for (const point of rates)
    for (const [topic, value] of pick(point)) totals.set(topic, (totals.get(topic) ?? 0) + value);
  const topics = [...totals.entries()]
    .sort(([, a], [, b]) => b - a)
    .slice(0, CHART_TOPICS_MAX)
    .map(([topic]) => topic)
    .sort();
  const round = (value: number | undefined) => (value === undefined ? null : Math.round(value * 10) / 10);
  return {
    series: topics,
    data: [
      rates.map((point) => point.atS),
      ...topics.map((topic) => rates.map((point) => round(pick(point).get(topic)))),
    ],
  };
}

export function ThroughputPage() {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((version) => version + 1);
    sampler.listeners.add(listener);
    startSampler();
    return () => {
      sampler.listeners.delete(listener);
    };
  }, []);
  const rates = sampler.rates;
  const produced = chartOf(rates, (point) => point.inPerS);
  const consumed = chartOf(rates, (point) => point.outPerS);
  return html`<section aria-labelledby="throughput-title">
    <h1 id="throughput-title">Throughput</h1>
    <p class="hint">Records per second in (high watermarks) and out (committed offsets of every group), per topic,
      sampled every ${SAMPLE_INTERVAL_MS / 1000} s by this page since it was opened; the ${CHART_TOPICS_MAX} busiest topics are drawn.</p>
    ${sampler.error ? html`<${ProblemBox} error=${sampler.error} />` : null}
    ${
      rates.length === 0
        ? html`<p class="state loading" role="status">Taking the first samples (two are needed for a rate)...</p>`
        : html`<div class="card"><h2>Records in per second</h2>
            ${produced.series.length === 0 ? html`<p class="state empty">No topics.</p>` : html`<${TimeChart} label="Records in per second" series=${produced.series} data=${produced.data} unit="records/s" />`}
          </div>
          <div class="card"><h2>Records out per second</h2>
            ${consumed.series.length === 0 ? html`<p class="state empty">No group has committed an offset yet.</p>` : html`<${TimeChart} label="Records out per second" series=${consumed.series} data=${consumed.data} unit="records/s" />`}
          </div>`
    }
  </section>`;
}
