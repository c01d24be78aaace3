// Line charts as one SVG, written by the deployed-topology benchmark and
// shown in docs/performance.md: rate against worker processes, one panel
// per kind of mail server, each with its own scale.

export interface Series {
  name: string;
  rates: number[];
  /** A reference (a ceiling, an ideal) rather than a measurement. */
  dashed?: boolean;
}

export interface Panel {
  title: string;
  series: Series[];
}

const COLORS = ['#1f77b4', '#d62728'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for the y axis that gives four to eight grid lines. */
function gridStep(max: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * magnitude).find((s) => max / s <= 8) ?? magnitude * 10;
}

const SIZE = { width: 420, height: 360 };
const MARGIN = { left: 60, right: 20, top: 50, bottom: 110 };

function panel(p: Panel, workers: number[], offsetX: number): string[] {
  const width = SIZE.width - MARGIN.left - MARGIN.right;
  const height = SIZE.height - MARGIN.top - MARGIN.bottom;
  const maxRate = Math.max(...p.series.flatMap((s) => s.rates));
  const step = gridStep(maxRate);
  const top = Math.ceil((maxRate * 1.05) / step) * step;
  const maxWorkers = Math.max(...workers);
  const x = (n: number) => offsetX + MARGIN.left + (n / maxWorkers) * width;
  const y = (rate: number) => MARGIN.top + height - (rate / top) * height;
  const parts = [`<text x="${offsetX + MARGIN.left}" y="${MARGIN.top - 14}" font-weight="bold">${escape(p.title)}</text>`];
  for (let rate = 0; rate <= top; rate += step) {
    parts.push(
      `<line x1="${x(0)}" x2="${x(maxWorkers)}" y1="${y(rate)}" y2="${y(rate)}" stroke="#ddd"/>`,
      `<text x="${x(0) - 8}" y="${y(rate) + 4}" text-anchor="end">${rate}</text>`,
    );
  }
  for (const n of [0, ...workers]) parts.push(`<text x="${x(n)}" y="${MARGIN.top + height + 18}" text-anchor="middle">${n}</text>`);
  parts.push(`<text x="${x(maxWorkers / 2)}" y="${MARGIN.top + height + 36}" text-anchor="middle">worker processes</text>`);
  p.series.forEach((series, i) => {
    const color = COLORS[Math.floor(i / 2) % COLORS.length] as string;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    const points = workers.map((n, j) => `${x(n).toFixed(1)},${y(series.rates[j] ?? 0).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (!series.dashed)
      workers.forEach((n, j) => parts.push(`<circle cx="${x(n)}" cy="${y(series.rates[j] ?? 0)}" r="4" fill="${color}"/>`));
    const legendY = MARGIN.top + height + 60 + i * 20;
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
