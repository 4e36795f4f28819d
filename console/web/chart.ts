/**
 * A time-series line chart drawn by uPlot: one x axis of seconds, one line per series. uPlot is
 * loaded with the first chart (a chunk of its own), so pages without one never fetch it. The
 * component owns one uPlot instance for its life, gives it new data with `setData` (no redraw of
 * the page) and follows its container's width, so it fits a phone as well as a desktop.
 */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

/** Colours of the lines, in order; readable on white and distinct for the common colour blindnesses. */
const PALETTE = ['#0b6bcb', '#d1495b', '#2e8540', '#e09f3e', '#7b3fa0', '#00798c', '#5c5c5c', '#b5179e'];

/** Settings of {@link TimeChart}. */
export interface TimeChartProps {
  /** What the chart shows, for screen readers and the test (aria-label). */
  readonly label: string;
  /** Names of the series (the lines). */
  readonly series: readonly string[];
  /** x values (epoch seconds), then one array per series, all of the same length. */
  readonly data: readonly (readonly (number | null)[])[];
  /** The unit on the y axis, e.g. "records". */
  readonly unit: string;
  /** @default 220 */
  readonly heightPx?: number;
}

function options(props: TimeChartProps, widthPx: number): uPlot.Options {
  return {
    width: widthPx,
    height: props.heightPx ?? 220,
    series: [
      {},
      ...props.series.map((name, index) => ({
        label: name,
        stroke: PALETTE[index % PALETTE.length] as string,
        width: 2,
        points: { show: false },
      })),
    ],
    axes: [{}, { label: props.unit, size: 60 }],
    scales: {
      // At least a minute wide, so that the first points sit on a readable time axis.
      x: { time: true, range: (_chart, min, max) => (max - min < 60 ? [max - 60, max] : [min, max]) },
      y: { range: (_chart, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] },
    },
    // The caption under the chart names the series with their colours and latest values.
    legend: { show: false },
  };
}

/** Points in the chart's text alternative: the latest ones. */
const TABLE_POINTS_MAX = 30;

/**
 * The chart's text alternative: its latest points as a table, read by screen readers (and by the
 * browser tests, which check what the chart drew), hidden from sight.
 */
function PointsTable({ props }: { props: TimeChartProps }) {
  const times = props.data[0] ?? [];
  const first = Math.max(0, times.length - TABLE_POINTS_MAX);
  const rows = times.slice(first).map((time, index) => ({ time, at: first + index }));
  // Hidden by a wrapper: a table grows to fit its cells whatever width it is given, and would widen the page.
  return html`<div class="visually-hidden"><table class="chart-points">
    <caption>${props.label}: the latest ${rows.length} points</caption>
    <thead><tr><th scope="col">time</th>${props.series.map((name) => html`<th scope="col">${name}</th>`)}</tr></thead>
    <tbody>${rows.map(
      ({ time, at }) => html`<tr>
        <td>${time === null ? '' : new Date(time * 1000).toISOString()}</td>
        ${props.series.map((_, series) => html`<td>${props.data[series + 1]?.[at] ?? ''}</td>`)}
      </tr>`,
    )}</tbody>
  </table></div>`;
}

/** A live line chart; the latest value of each series is also written out, under the chart. */
export function TimeChart(props: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  // The data as of now, for a chart created after uPlot has loaded.
  const latestData = useRef(props.data);
  latestData.current = props.data;
  const seriesKey = props.series.join('\u0000');

  useEffect(() => {
    const element = container.current;
    const frame = element?.parentElement;
    if (!element || !frame) return;
    // Sized by the figure around it, which the page lays out, never by the chart's own size: a
    // chart that followed its own width could grow itself wider than the screen.
    const widthOf = () => Math.max(200, frame.clientWidth);
    let disposed = false;
    const observer = new ResizeObserver(() => {
      chart.current?.setSize({ width: widthOf(), height: props.heightPx ?? 220 });
    });
    void import('uplot').then(({ default: UPlot }) => {
      if (disposed) return;
      chart.current = new UPlot(options(props, widthOf()), latestData.current as uPlot.AlignedData, element);
      observer.observe(frame);
    });
    return () => {
      disposed = true;
      observer.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    chart.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  const latest = props.series.map((name, index) => {
    const values = props.data[index + 1] ?? [];
    return { name, value: values.length > 0 ? values[values.length - 1] : null };
  });
  return html`<figure class="chart" aria-label=${props.label}>
    <div ref=${container} class="chart-canvas" role="img" aria-label=${props.label}></div>
    <${PointsTable} props=${props} />
    <figcaption class="chart-latest">
      ${latest.map(
        ({ name, value }, index) =>
          html`<span class="chart-value" data-series=${name} data-value=${value ?? ''}
            ><span class="swatch" style=${{ background: PALETTE[index % PALETTE.length] }}></span>${`${name}: `}<b>${value === null || value === undefined ? '-' : value}</b>${` ${props.unit}`}</span
          >`,
      )}
    </figcaption>
  </figure>`;
}
