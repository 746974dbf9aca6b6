import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html, type Markup } from './html.js';

/** One line per node over time; times in seconds, values null where a node had no sample. */
export interface ChartData {
  times: number[];
  series: { label: string; values: (number | null)[] }[];
}

const colours = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#be123c', '#0e7490'];

/** A uPlot line chart that follows its container's width (narrow windows get narrow charts). */
export function Chart({ title, data, id }: { title: string; data: ChartData; id: string }): Markup {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const labels = data.series.map((s) => s.label).join(',');
  useEffect(() => {
    const element = box.current!;
    const chart = new uPlot(
      {
        width: Math.max(200, element.clientWidth),
        height: 180,
        series: [{}, ...data.series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 2, spanGaps: true }))],
        axes: [{}, { size: 60 }],
        legend: { show: true },
      },
      [data.times, ...data.series.map((s) => s.values)],
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, [labels]);
  useEffect(() => {
    plot.current?.setData([data.times, ...data.series.map((s) => s.values)]);
  }, [data]);
  return html`<figure class="chart" id=${id} aria-label=${title}>
    <h3>${title}</h3>
    <div ref=${box}></div>
  </figure>`;
}
