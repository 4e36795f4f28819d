/**
 * The Shoal console: a single page of hash routes over the public HTTP API.
 *
 * Stack: preact (views, about 5 kB gzipped) with htm (tagged templates: no JSX build step) and
 * uPlot (time-series charts on canvas, about 20 kB gzipped), bundled by esbuild.
 */
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { GroupPage, GroupsPage } from './groups.js';
import { PartitionPage } from './partition.js';
import { SettingsPage } from './settings.js';
import { SubscriptionPage, SubscriptionsPage } from './subscriptions.js';
import { ThroughputPage } from './throughput.js';
import { TopicPage, TopicsPage } from './topics.js';
import { href } from './ui.js';
// uPlot's own styles, with the page's: a stylesheet of a lazily loaded chunk would not be linked.
import 'uplot/dist/uPlot.min.css';
import './app.css';

/** The route's segments: `#/topics/orders/partitions/0` -> ['topics', 'orders', 'partitions', '0']. */
function routeSegments(hash: string): string[] {
  return hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function NotFound({ hash }: { hash: string }) {
  return html`<section class="problem" role="alert">
    <strong class="problem-title">Not Found</strong>
    <p class="problem-detail">The console has no page ${hash}. <a href=${href('topics')}>Go to the topics</a>.</p>
  </section>`;
}

function Page({ parts, hash }: { parts: string[]; hash: string }) {
  const [section, name, sub, index] = parts;
  switch (section) {
    case undefined:
    case 'topics':
      if (name === undefined) return html`<${TopicsPage} />`;
      if (sub === undefined) return html`<${TopicPage} key=${name} name=${name} />`;
      if (sub === 'partitions' && index !== undefined && /^\d+$/.test(index)) {
        return html`<${PartitionPage} key=${`${name}/${index}`} topic=${name} partition=${Number(index)} />`;
      }
      break;
    case 'groups':
      return name === undefined ? html`<${GroupsPage} />` : html`<${GroupPage} key=${name} group=${name} />`;
    case 'subscriptions':
      return name === undefined
        ? html`<${SubscriptionsPage} />`
        : html`<${SubscriptionPage} key=${name} name=${name} />`;
    case 'throughput':
      return html`<${ThroughputPage} />`;
    case 'settings':
      return html`<${SettingsPage} />`;
  }
  return html`<${NotFound} hash=${hash} />`;
}

const SECTIONS = [
  ['topics', 'Topics'],
  ['groups', 'Groups'],
  ['subscriptions', 'Subscriptions'],
  ['throughput', 'Throughput'],
  ['settings', 'Sign-in'],
] as const;

function App() {
  const hash = useHash();
  const parts = routeSegments(hash);
  const current = parts[0] ?? 'topics';
  const [first, setFirst] = useState(true);
  useEffect(() => {
    document.title = `${parts.length > 1 ? `${parts[1]} - ` : ''}Shoal console`;
    // After a change of page, focus moves to the page, so keyboard and screen reader users land on it.
    if (first) setFirst(false);
    else document.getElementById('main')?.focus({ preventScroll: true });
  }, [hash]);
  return html`<a class="skip" href="#main" onClick=${(e: Event) => {
    e.preventDefault();
    document.getElementById('main')?.focus();
  }}>Skip to content</a>
    <header class="top">
      <a class="brand" href=${href('topics')}>Shoal</a>
      <nav aria-label="Sections">
        <ul>
          ${SECTIONS.map(
            ([path, label]) =>
              html`<li><a href=${href(path)} aria-current=${current === path ? 'page' : undefined}>${label}</a></li>`,
          )}
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1"><${Page} parts=${parts} hash=${hash} /></main>`;
}

const root = document.getElementById('app');
if (root) {
  // The page's static "Loading" line goes: preact renders into an empty element.
  root.replaceChildren();
  render(html`<${App} />`, root);
}
