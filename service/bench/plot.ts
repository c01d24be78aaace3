// A small line chart as SVG, written by the deployed-topology benchmark and
// shown in docs/performance.md: rate against worker processes.

export interface Series {
  name: string;
  rates: number[];
  /** A reference (a ceiling, an ideal) rather than a measurement. */
  dashed?: boolean;
}

const COLORS = ['#1f77b4', '#1f77b4', '#d62728', '#d62728'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A step for the y axis that gives four to eight grid lines. */
function gridStep(max: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * magnitude).find((s) => max / s <= 8) ?? magnitude * 10;
}

export function scalingPlot(input: { title: string; workers: number[]; series: Series[] }): string {
  const [width, height] = [880, 420];
  const plot = { left: 70, right: 340, top: 40, bottom: 50 };
  const innerWidth = width - plot.left - plot.right;
  const innerHeight = height - plot.top - plot.bottom;
  const maxRate = Math.max(...input.series.flatMap((s) => s.rates));
  const step = gridStep(maxRate);
  const top = Math.ceil((maxRate * 1.05) / step) * step;
  const maxWorkers = Math.max(...input.workers);
  const x = (workers: number) => plot.left + (workers / maxWorkers) * innerWidth;
  const y = (rate: number) => plot.top + innerHeight - (rate / top) * innerHeight;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${plot.left}" y="22" font-size="14" font-weight="bold">${escape(input.title)}</text>`,
  ];
  for (let rate = 0; rate <= top; rate += step) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.left + innerWidth}" y1="${y(rate)}" y2="${y(rate)}" stroke="#ddd"/>`,
      `<text x="${plot.left - 8}" y="${y(rate) + 4}" text-anchor="end">${rate}</text>`,
    );
  }
  for (const workers of [0, ...input.workers]) {
    parts.push(`<text x="${x(workers)}" y="${plot.top + innerHeight + 18}" text-anchor="middle">${workers}</text>`);
  }
  parts.push(
    `<text x="${plot.left + innerWidth / 2}" y="${height - 12}" text-anchor="middle">worker processes</text>`,
    `<text transform="translate(18 ${plot.top + innerHeight / 2}) rotate(-90)" text-anchor="middle">mails per second</text>`,
  );
  input.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const points = input.workers.map((w, j) => `${x(w).toFixed(1)},${y(series.rates[j] ?? 0).toFixed(1)}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (!series.dashed) {
      input.workers.forEach((w, j) => parts.push(`<circle cx="${x(w)}" cy="${y(series.rates[j] ?? 0)}" r="4" fill="${color}"/>`));
    }
    const legendY = plot.top + 10 + i * 22;
    const legendX = plot.left + innerWidth + 16;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 30}" y="${legendY + 4}">${escape(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
