/**
 * Pieces every page uses: the loading, empty and error states, polling, and links between pages.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem } from './api.js';

/** A hash route (`#/topics/orders`): pages link with it, so the server serves one page only. */
export const href = (...parts: (string | number)[]): string =>
  `#/${parts.map((part) => encodeURIComponent(String(part))).join('/')}`;

/** "Loading ..." with a live region, so a screen reader hears it too. */
export function Loading({ what }: { what: string }) {
  return html`<p class="state loading" role="status" aria-live="polite">Loading ${what}...</p>`;
}

/** An empty list, and what to do about it. */
export function Empty({ children }: { children: unknown }) {
  return html`<div class="state empty">${children}</div>`;
}

/** A refused or failed call: the problem's title and detail, as the API gave them. */
export function ProblemBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const problem =
    error instanceof ApiProblem ? error : new ApiProblem(0, 'Something went wrong', String(error), {});
  return html`<div class="problem" role="alert">
    <strong class="problem-title">${problem.title}${problem.status > 0 ? ` (${problem.status})` : ''}</strong>
    ${problem.detail ? html`<p class="problem-detail">${problem.detail}</p>` : null}
    ${onRetry ? html`<button type="button" onClick=${onRetry}>Try again</button>` : null}
  </div>`;
}

/** The state of a value loaded from the API. */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * Loads `load()` now and again every `intervalMs` (0: once) while the page is shown; a failed poll
 * keeps the last data and shows the problem. `key` restarts it (another topic, another group).
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, key: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((previous) => ({ ...previous, loading: true }));
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (!stopped) setState((previous) => ({ data: previous.data, error, loading: false }));
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, tick, intervalMs]);
  return { ...state, reload };
}

/** Runs `calls` with at most `concurrency` of them at once, results in order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  call: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await call(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
