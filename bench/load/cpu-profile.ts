/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes on exit) and says where the time went:
 * the functions with the most self time, and self time summed by area of the code (one of our
 * src/ folders, an npm package, a Node core module, the garbage collector).
 */

export interface FrameTime {
  functionName: string;
  /** file:line, relative to the repository when it is ours. */
  location: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  selfPercent: number;
}

export interface AreaTime {
  area: string;
  selfMs: number;
  selfPercent: number;
}

export interface CpuProfileSummary {
  sampledMs: number;
  busyMs: number;
  /** Self time: where the CPU was when sampled. */
  topFrames: FrameTime[];
  /**
   * Total time (self plus callees) of our own functions (src/): which step of the path costs
   * what, e.g. the authoriser's decide against the decision log's flush. selfMs holds the total.
   */
  topInclusive: FrameTime[];
  byArea: AreaTime[];
}

interface ProfileNode {
  id: number;
  functionName: string;
  url: string;
  lineNumber: number;
  parent: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readNodes(profile: Record<string, unknown>): Map<number, ProfileNode> {
  const nodes = new Map<number, ProfileNode>();
  const raw = profile['nodes'];
  if (!Array.isArray(raw)) throw new Error('not a V8 CPU profile: no nodes');
  const parents = new Map<number, number>();
  for (const entry of raw as unknown[]) {
    if (!isRecord(entry) || typeof entry['id'] !== 'number' || !isRecord(entry['callFrame'])) continue;
    const frame = entry['callFrame'];
    nodes.set(entry['id'], {
      id: entry['id'],
      functionName: typeof frame['functionName'] === 'string' && frame['functionName'] !== '' ? frame['functionName'] : '(anonymous)',
      url: typeof frame['url'] === 'string' ? frame['url'] : '',
      lineNumber: typeof frame['lineNumber'] === 'number' ? frame['lineNumber'] + 1 : 0,
      parent: undefined,
    });
    if (Array.isArray(entry['children'])) {
      for (const child of entry['children'] as unknown[]) if (typeof child === 'number') parents.set(child, entry['id']);
    }
  }
  for (const [child, parent] of parents) {
    const node = nodes.get(child);
    if (node !== undefined) node.parent = parent;
  }
  return nodes;
}

/** Where a frame's code lives, in words a reader of the repository recognises. */
export function areaOf(functionName: string, url: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(idle)') return 'idle';
    return 'V8 and native (program)';
  }
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return `npm ${pkg[1]}`;
  if (url.startsWith('node:')) return `node core (${url.slice(5).split('/')[0]})`;
  const ours = /\/dist\/(src|bench|test|scripts)\/([^/]+)/.exec(url);
  if (ours !== null) return ours[2]!.endsWith('.js') ? `${ours[1]}/${ours[2]!.replace(/\.js$/, '.ts')}` : `${ours[1]}/${ours[2]}/`;
  return 'other';
}

function shortLocation(url: string, line: number): string {
  if (url === '') return '';
  const ours = /\/dist\/((?:src|bench|test|scripts)\/.*)\.js$/.exec(url);
  if (ours !== null) return `${ours[1]}.ts (js line ${line})`;
  const pkg = /\/node_modules\/(.*)$/.exec(url);
  if (pkg !== null) return `${pkg[1]}:${line}`;
  return `${url.replace(/^file:\/\//, '')}:${line}`;
}

/**
 * Summarises the samples taken inside `window` (CLOCK_MONOTONIC microseconds, V8's profile clock),
 * or all of them: a whole-process profile is dominated by start-up (module loading, schema
 * compilation) unless it is cut to the load.
 */
export function summariseCpuProfile(profile: unknown, window?: readonly [number, number], top = 20): CpuProfileSummary {
  if (!isRecord(profile)) throw new Error('not a V8 CPU profile');
  const nodes = readNodes(profile);
  const samples = profile['samples'];
  const deltas = profile['timeDeltas'];
  const startTime = profile['startTime'];
  if (!Array.isArray(samples) || !Array.isArray(deltas) || samples.length !== deltas.length || typeof startTime !== 'number') {
    throw new Error('not a V8 CPU profile: startTime, samples or timeDeltas missing');
  }
  const from = window?.[0] ?? -Infinity;
  const to = window?.[1] ?? Infinity;
  // Sample i was taken at startTime + the sum of deltas up to i; its time is the gap to the next
  // sample (V8's own attribution).
  const selfMicros = new Map<number, number>();
  let sampledMicros = 0;
  let takenAt = startTime;
  for (let index = 0; index < samples.length; index++) {
    const delta = deltas[index];
    takenAt += typeof delta === 'number' ? delta : 0;
    const next = index + 1 < deltas.length ? deltas[index + 1] : 0;
    const micros = typeof next === 'number' && next > 0 ? next : 0;
    const id = samples[index];
    if (typeof id !== 'number' || takenAt < from || takenAt > to) continue;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + micros);
    sampledMicros += micros;
  }
  const byFrame = new Map<string, { functionName: string; location: string; micros: number }>();
  const inclusive = new Map<string, { functionName: string; location: string; micros: number }>();
  const byArea = new Map<string, number>();
  let idleMicros = 0;
  for (const [id, micros] of selfMicros) {
    const node = nodes.get(id);
    if (node === undefined) continue;
    const area = areaOf(node.functionName, node.url);
    if (area === 'idle') {
      idleMicros += micros;
      continue;
    }
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const location = shortLocation(node.url, node.lineNumber);
    const key = `${node.functionName}@${location}`;
    const entry = byFrame.get(key) ?? { functionName: node.functionName, location, micros: 0 };
    entry.micros += micros;
    byFrame.set(key, entry);
    // Credit every one of our functions on this stack once (recursion would count twice).
    const credited = new Set<string>();
    for (let frame: ProfileNode | undefined = node; frame !== undefined; frame = frame.parent === undefined ? undefined : nodes.get(frame.parent)) {
      if (!areaOf(frame.functionName, frame.url).startsWith('src/')) continue;
      const frameLocation = shortLocation(frame.url, frame.lineNumber);
      const frameKey = `${frame.functionName}@${frameLocation}`;
      if (credited.has(frameKey)) continue;
      credited.add(frameKey);
      const total = inclusive.get(frameKey) ?? { functionName: frame.functionName, location: frameLocation, micros: 0 };
      total.micros += micros;
      inclusive.set(frameKey, total);
    }
  }
  const busyMicros = Math.max(1, sampledMicros - idleMicros);
  const percent = (micros: number): number => Math.round((micros / busyMicros) * 1000) / 10;
  const ms = (micros: number): number => Math.round(micros / 100) / 10;
  const ranked = (entries: Iterable<{ functionName: string; location: string; micros: number }>): FrameTime[] =>
    [...entries].sort((a, b) => b.micros - a.micros).slice(0, top)
      .map((entry) => ({ functionName: entry.functionName, location: entry.location, selfMs: ms(entry.micros), selfPercent: percent(entry.micros) }));
  return {
    sampledMs: ms(sampledMicros),
    busyMs: ms(busyMicros),
    topFrames: ranked(byFrame.values()),
    topInclusive: ranked(inclusive.values()),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1])
      .map(([area, micros]) => ({ area, selfMs: ms(micros), selfPercent: percent(micros) })),
  };
}
