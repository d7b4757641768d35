/**
 * Latency percentiles against offered rate, as a small self-contained SVG: p50, p99, p99.9 and
 * max per step on a logarithmic millisecond axis (saturation turns milliseconds into seconds, and
 * a linear axis would flatten everything before it), with the budget and the p99 target as lines.
 */

export interface ChartStep {
  offeredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface ChartOptions {
  title: string;
  budgetMs: number;
  /** The p99 target for this profile, drawn as a second reference line. */
  targetP99Ms: number;
}

const WIDTH = 760;
const HEIGHT = 420;
const LEFT = 84;
const RIGHT = 150;
const TOP = 56;
const BOTTOM = 60;

const SERIES: ReadonlyArray<readonly [keyof ChartStep, string, string]> = [
  ['p50Ms', 'p50', '#1b9e77'],
  ['p99Ms', 'p99', '#d95f02'],
  ['p999Ms', 'p99.9', '#7570b3'],
  ['maxMs', 'max', '#999999'],
];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function formatMs(value: number): string {
  if (value >= 1000) return `${value / 1000} s`;
  return `${value} ms`;
}

function formatRate(value: number): string {
  return value >= 1000 ? `${value / 1000}k` : String(value);
}

/** Round numbers for the rate axis: about six ticks at 1, 2 or 5 times a power of ten. */
export function rateTicks(maxRate: number): number[] {
  const rough = maxRate / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let tick = 0; tick <= maxRate + step / 2; tick += step) ticks.push(tick);
  return ticks;
}

export function renderLatencyChart(steps: readonly ChartStep[], options: ChartOptions): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const values = steps.flatMap((step) => [step.p50Ms, step.p99Ms, step.p999Ms, step.maxMs]).filter((value) => value > 0);
  const lowest = Math.min(options.targetP99Ms, options.budgetMs, ...values);
  const highest = Math.max(options.targetP99Ms, options.budgetMs, ...values);
  const decadeLow = Math.floor(Math.log10(lowest));
  const decadeHigh = Math.max(decadeLow + 1, Math.ceil(Math.log10(highest)));
  const ticks = rateTicks(Math.max(1, ...steps.map((step) => step.offeredPerSec)));
  const maxRate = ticks[ticks.length - 1]!;
  const x = (rate: number): number => LEFT + (rate / maxRate) * plotWidth;
  const y = (ms: number): number => {
    const clamped = Math.max(ms, 10 ** decadeLow);
    return TOP + plotHeight - ((Math.log10(clamped) - decadeLow) / (decadeHigh - decadeLow)) * plotHeight;
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (let decade = decadeLow; decade <= decadeHigh; decade++) {
    const ms = 10 ** decade;
    const at = y(ms).toFixed(1);
    out.push(`<line x1="${LEFT}" y1="${at}" x2="${LEFT + plotWidth}" y2="${at}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatMs(Number(ms.toPrecision(1))))}</text>`);
  }
  for (const tick of ticks) {
    const at = x(tick).toFixed(1);
    out.push(`<line x1="${at}" y1="${TOP}" x2="${at}" y2="${TOP + plotHeight}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${at}" y="${TOP + plotHeight + 18}" text-anchor="middle">${formatRate(tick)}</text>`);
  }
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#444444"/>`);
  out.push(`<text x="${LEFT + plotWidth / 2}" y="${HEIGHT - 16}" text-anchor="middle">offered rate (authorisations/s)</text>`);
  out.push(`<text transform="translate(18 ${TOP + plotHeight / 2}) rotate(-90)" text-anchor="middle">latency from scheduled send (log scale)</text>`);
  referenceLine(out, y(options.budgetMs), LEFT, plotWidth, '#d62728', '6 4', `budget ${formatMs(options.budgetMs)}`, 'budget');
  referenceLine(out, y(options.targetP99Ms), LEFT, plotWidth, '#555555', '2 3', `p99 target ${formatMs(options.targetP99Ms)}`, 'target');
  const ordered = [...steps].sort((a, b) => a.offeredPerSec - b.offeredPerSec);
  SERIES.forEach(([key, label, colour], seriesIndex) => {
    const points = ordered.map((step) => `${x(step.offeredPerSec).toFixed(1)},${y(step[key]).toFixed(1)}`);
    out.push(`<polyline data-series="${label}" points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const point of points) {
      const [cx, cy] = point.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`);
    }
    // The legend runs along the top, clear of the reference lines' labels on the right.
    const legendX = LEFT + seriesIndex * 90;
    out.push(`<line x1="${legendX}" y1="40" x2="${legendX + 24}" y2="40" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${legendX + 30}" y="40" dominant-baseline="middle">${label}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function referenceLine(out: string[], at: number, left: number, width: number, colour: string, dash: string,
  label: string, name: string): void {
  out.push(`<line data-reference="${name}" x1="${left}" y1="${at.toFixed(1)}" x2="${left + width}" y2="${at.toFixed(1)}" stroke="${colour}" stroke-dasharray="${dash}" stroke-width="1.5"/>`);
  out.push(`<text x="${left + width + 6}" y="${at.toFixed(1)}" fill="${colour}" dominant-baseline="middle">${escapeXml(label)}</text>`);
}
