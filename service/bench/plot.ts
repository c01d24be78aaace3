// Line charts as one SVG, written by the deployed-topology benchmark and
// shown in docs/performance.md: a figure against worker processes, one
// panel per question, each with its own scale; the median of the runs, with
// a whisker from the lowest to the highest.

export interface Series {
  name: string;
  /** One value per worker count. */
  values: number[];
  /** The lowest and highest of the runs, per worker count. */
  ranges?: Array<[number, number]>;
  /** A reference (a ceiling, an ideal) rather than a measurement: drawn dashed, in its measurement's color. */
  dashed?: boolean;
}

export interface Panel {
  title: string;
  /** What the y axis counts. */
  unit: string;
  series: Series[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#7f7f7f'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for the y axis that gives four to eight grid lines. */
function gridStep(max: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * magnitude).find((s) => max / s <= 8) ?? magnitude * 10;
}

const SIZE = { width: 420, height: 400 };
const MARGIN = { left: 70, right: 20, top: 50, bottom: 160 };

function panel(p: Panel, workers: number[], offsetX: number): string[] {
  const width = SIZE.width - MARGIN.left - MARGIN.right;
  const height = SIZE.height - MARGIN.top - MARGIN.bottom;
  const maxRate = Math.max(...p.series.flatMap((s) => [...s.values, ...(s.ranges ?? []).map(([, high]) => high)]));
  const step = gridStep(maxRate);
  const top = Math.ceil((maxRate * 1.05) / step) * step;
  const maxWorkers = Math.max(...workers);
  const x = (n: number) => offsetX + MARGIN.left + (n / maxWorkers) * width;
  const y = (rate: number) => MARGIN.top + height - (rate / top) * height;
  const parts = [
    `<text x="${offsetX + MARGIN.left}" y="${MARGIN.top - 14}" font-weight="bold">${escape(p.title)}</text>`,
    `<text x="${offsetX + 14}" y="${MARGIN.top + height / 2}" text-anchor="middle" transform="rotate(-90 ${offsetX + 14} ${MARGIN.top + height / 2})">${escape(p.unit)}</text>`,
  ];
  for (let rate = 0; rate <= top; rate += step) {
    parts.push(
      `<line x1="${x(0)}" x2="${x(maxWorkers)}" y1="${y(rate)}" y2="${y(rate)}" stroke="#ddd"/>`,
      `<text x="${x(0) - 8}" y="${y(rate) + 4}" text-anchor="end">${Number(rate.toPrecision(6))}</text>`,
    );
  }
  for (const n of [0, ...workers]) parts.push(`<text x="${x(n)}" y="${MARGIN.top + height + 18}" text-anchor="middle">${n}</text>`);
  parts.push(`<text x="${x(maxWorkers / 2)}" y="${MARGIN.top + height + 36}" text-anchor="middle">worker processes</text>`);
  let measured = -1;
  p.series.forEach((series, i) => {
    if (!series.dashed) measured++;
    const color = COLORS[Math.max(0, measured) % COLORS.length] as string;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    const points = workers.map((n, j) => `${x(n).toFixed(1)},${y(series.values[j] ?? 0).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (!series.dashed)
      workers.forEach((n, j) => parts.push(`<circle cx="${x(n)}" cy="${y(series.values[j] ?? 0)}" r="4" fill="${color}"/>`));
    series.ranges?.forEach(([low, high], j) => {
      const at = x(workers[j] as number);
      parts.push(`<line x1="${at}" x2="${at}" y1="${y(low)}" y2="${y(high)}" stroke="${color}" stroke-width="1.5"/>`);
    });
    const legendY = MARGIN.top + height + 52 + i * 16;
    parts.push(
      `<line x1="${x(0)}" x2="${x(0) + 24}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${x(0) + 30}" y="${legendY + 4}">${escape(series.name)}</text>`,
    );
  });
  return parts;
}

export function scalingPlot(input: { title: string; workers: number[]; panels: Panel[] }): string {
  const width = SIZE.width * input.panels.length;
  const height = SIZE.height;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">${escape(input.title)}</text>`,
    ...input.panels.flatMap((p, i) => panel(p, input.workers, i * SIZE.width)),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
