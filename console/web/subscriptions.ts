/**
 * Subscriptions: each one's position, lag, counters and recent errors per partition, and the
 * latest records of its dead-letter topic.
 */
import { html } from 'htm/preact';
import {
  type FetchAnswer,
  type FetchedRecord,
  request,
  type SubscriptionDescription,
  type SubscriptionSummary,
  seg,
  type TopicDescription,
} from './api.js';
import { count, renderData } from './format.js';
import { Empty, href, Loading, ProblemBox, usePoll } from './ui.js';

/** Dead-letter records shown, newest first, read from the end of each partition. */
const DEAD_LETTERS_SHOWN_MAX = 20;

export function SubscriptionsPage() {
  const list = usePoll(
    () =>
      request<{ subscriptions: SubscriptionSummary[] }>('GET', '/v1/subscriptions').then(
        (a) => a.subscriptions,
      ),
    5000,
    'subscriptions',
  );
  return html`<section aria-labelledby="subscriptions-title">
    <h1 id="subscriptions-title">Subscriptions</h1>
    ${list.error ? html`<${ProblemBox} error=${list.error} onRetry=${list.reload} />` : null}
    ${
      list.data === undefined
        ? list.loading
          ? html`<${Loading} what="subscriptions" />`
          : null
        : list.data.length === 0
          ? html`<${Empty}><p>No subscriptions: create one with <code>POST /v1/subscriptions</code> or <code>shoal subscribe</code> to deliver a topic to a Lambda function.</p><//>`
          : html`<div class="table-wrap"><table>
              <thead><tr><th scope="col">Subscription</th><th scope="col">Topic</th><th scope="col">State</th><th scope="col">Dead-letter topic</th></tr></thead>
              <tbody>${list.data.map(
                (subscription) => html`<tr key=${subscription.name}>
                  <th scope="row"><a href=${href('subscriptions', subscription.name)}>${subscription.name}</a></th>
                  <td><a href=${href('topics', subscription.topic)}>${subscription.topic}</a></td>
                  <td>${subscription.state}</td>
                  <td>${subscription.onFailure ? html`<a href=${href('topics', subscription.onFailure.topic)}>${subscription.onFailure.topic}</a>` : 'none'}</td>
                </tr>`,
              )}</tbody>
            </table></div>`
    }
  </section>`;
}

/** The newest records of a topic, across its partitions, newest first. */
async function latestRecords(topic: string): Promise<(FetchedRecord & { partition: number })[]> {
  const description = await request<TopicDescription>('GET', `/v1/topics/${seg(topic)}`);
  const pages = await Promise.all(
    description.partitions
      .filter((partition) => partition.highWatermark > partition.logStartOffset)
      .map(async (partition) => {
        const offset = Math.max(partition.logStartOffset, partition.highWatermark - DEAD_LETTERS_SHOWN_MAX);
        const page = await request<FetchAnswer>(
          'GET',
          `/v1/topics/${seg(topic)}/partitions/${partition.partition}/records?offset=${offset}&maxRecords=${DEAD_LETTERS_SHOWN_MAX}`,
        );
        return page.records.map((record) => ({ ...record, partition: partition.partition }));
      }),
  );
  return pages
    .flat()
    .sort((a, b) => b.timestamp.localeCompare(a.timestamp))
    .slice(0, DEAD_LETTERS_SHOWN_MAX);
}

export function SubscriptionPage({ name }: { name: string }) {
  const described = usePoll(
    () => request<SubscriptionDescription>('GET', `/v1/subscriptions/${seg(name)}`),
    3000,
    `subscription:${name}`,
  );
  const deadLetterTopic = described.data?.onFailure?.topic;
  const deadLetters = usePoll(
    () => (deadLetterTopic ? latestRecords(deadLetterTopic) : Promise.resolve([])),
    5000,
    `dlt:${deadLetterTopic ?? ''}`,
  );
  const description = described.data;
  return html`<section aria-labelledby="subscription-title">
    <p class="crumbs"><a href=${href('subscriptions')}>Subscriptions</a> /</p>
    <h1 id="subscription-title">${name}</h1>
    ${described.error ? html`<${ProblemBox} error=${described.error} onRetry=${described.reload} />` : null}
    ${
      description === undefined
        ? described.loading
          ? html`<${Loading} what="the subscription" />`
          : null
        : html`<p class="summary">
            ${`${description.state}, topic `}<a href=${href('topics', description.topic)}>${description.topic}</a>
            ${' through group '}<a href=${href('groups', description.consumerGroupId)}>${description.consumerGroupId}</a>
            ${': lag '}<b>${count(description.totals.lag)}</b>
            ${`, ${count(description.totals.delivered)} delivered, ${count(description.totals.errors)} errors, ${count(description.totals.deadLettered)} dead-lettered.`}
          </p>
          <div class="card"><h2>Partitions</h2><div class="table-wrap"><table>
            <thead><tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Position</th><th scope="col" class="num">Lag</th><th scope="col" class="num">Delivered</th><th scope="col" class="num">Errors</th><th scope="col">Last error</th></tr></thead>
            <tbody>${description.partitions.map(
              (partition) => html`<tr key=${partition.partition}>
                <td class="num">${partition.partition}</td>
                <td class="num">${partition.committedOffset === null ? 'none' : count(partition.committedOffset)}</td>
                <td class="num">${count(partition.lag)}</td>
                <td class="num">${count(partition.delivered)}</td>
                <td class="num">${count(partition.errors)}</td>
                <td>${partition.lastError ? html`<span class="error-text">${partition.lastError.message}</span> at offset ${partition.lastError.offset}, <time datetime=${partition.lastError.at}>${new Date(partition.lastError.at).toLocaleString()}</time>` : 'none'}</td>
              </tr>`,
            )}</tbody>
          </table></div></div>
          <div class="card"><h2>Dead-letter topic</h2>
            ${
              deadLetterTopic === undefined
                ? html`<${Empty}><p>No dead-letter topic: records that keep failing are dropped after the retries (set <code>onFailure</code> to keep them).</p><//>`
                : deadLetters.data === undefined
                  ? deadLetters.error
                    ? html`<${ProblemBox} error=${deadLetters.error} />`
                    : html`<${Loading} what="dead letters" />`
                  : deadLetters.data.length === 0
                    ? html`<${Empty}><p>Nothing in <a href=${href('topics', deadLetterTopic)}>${deadLetterTopic}</a>.</p><//>`
                    : html`<ol class="records">${deadLetters.data.map(
                        (record) => html`<li class="record" key=${`${record.partition}:${record.offset}`}>
                          <div class="record-meta"><a href=${href('topics', deadLetterTopic, 'partitions', record.partition)}>${record.partition}#${record.offset}</a> <time datetime=${record.timestamp}>${record.timestamp}</time></div>
                          <pre class="record-value">${renderData(record.value, 'json')}</pre>
                        </li>`,
                      )}</ol>`
            }
          </div>`
    }
  </section>`;
}
