/**
 * The gateway under test, as its own process (`node dist/src/main.js`), exactly as `npm start`
 * runs it: the generator must not share an event loop with what it measures. Free loopback ports,
 * a temporary decision log and the benchmark's limits come in through GATEWAY_HTTP_PORT,
 * GATEWAY_LINK_PORT and a GATEWAY_CONFIG overlay file; its log goes to a file in the work folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export type BenchProfile = 'embedded' | 'stack';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

export interface GatewayProcessOptions {
  profile: BenchProfile;
  /** Temporary folder for the overlay, the decision log and the gateway's log. */
  workDir: string;
  /** When set, the gateway runs with --cpu-prof and writes its profile here on exit. */
  cpuProfileDir?: string;
  /** Bound on start-up: the stack profile waits for Redis, etcd and Cassandra clients. */
  startTimeoutMs: number;
}

/** The gateway did not become ready; the message says why in words an operator can act on. */
export class GatewayStartError extends Error {
  override readonly name = 'GatewayStartError';
}

/** The repository root, found from this file in bench/load (ts) or dist/bench/load (js). */
export function repoDir(): string {
  const fromDist = resolve(__dirname, '..', '..', '..');
  return existsSync(join(fromDist, 'package.json')) && existsSync(join(fromDist, 'src')) ? fromDist : resolve(__dirname, '..', '..');
}

/**
 * A loopback TCP port free a moment ago (the kernel's pick for port 0), for a process started
 * next: the gateway here, a Redis or a Prometheus in tests. Another process may take it first.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolvePort(address.port);
        else reject(new Error('no TCP port was bound'));
      });
    });
  });
}

/**
 * The benchmark's changes to the configuration. The demo cards' default limits (10,000.00 a day)
 * would turn the approving card's answers into 61 within seconds at benchmark rates, which would
 * measure the limit check instead of the path under test, so the overlay lifts them.
 */
function overlayYaml(decisionLogPath: string): string {
  return [
    '# Written by the load generator (bench/load/gateway-process.ts) for one benchmark run.',
    'store:',
    '  embedded:',
    `    decisionLogPath: ${JSON.stringify(decisionLogPath)}`,
    'authorise:',
    '  cardDefaults:',
    '    limits:',
    '      dailySpendMinor: 999999999999',
    '      monthlySpendMinor: 999999999999',
    '',
  ].join('\n');
}

export class GatewayProcess {
  private exitCode: number | null = null;
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly httpPort: number,
    readonly linkPort: number,
    readonly logPath: string,
  ) {
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? -1 : 128);
        resolveExit();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: GatewayProcessOptions): Promise<GatewayProcess> {
    const root = repoDir();
    const mainJs = join(root, 'dist', 'src', 'main.js');
    if (!existsSync(mainJs)) throw new GatewayStartError(`${mainJs} is missing: run npm run build first`);
    const overlayPath = join(options.workDir, 'bench-overlay.yaml');
    writeFileSync(overlayPath, overlayYaml(join(options.workDir, 'decisions.jsonl')));
    const [httpPort, linkPort] = [await freePort(), await freePort()];
    const logPath = join(options.workDir, 'gateway.log');
    const logFd = openSync(logPath, 'a');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GATEWAY_CONFIG: overlayPath,
      GATEWAY_HTTP_PORT: String(httpPort),
      GATEWAY_LINK_PORT: String(linkPort),
      GATEWAY_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      GATEWAY_PAN_HASH_KEY: process.env['GATEWAY_PAN_HASH_KEY'] ?? 'bench-pan-hash-key-not-for-production',
    };
    if (options.profile === 'stack') env['GATEWAY_PROFILE'] = 'stack';
    else delete env['GATEWAY_PROFILE'];
    const nodeArgs = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];
    // Extra V8/Node flags for the gateway only, for a closer look (e.g. --trace-gc); the log keeps
    // their output when BENCH_KEEP_LOGS=1.
    const extra = process.env['BENCH_GATEWAY_NODE_ARGS'];
    if (extra !== undefined && extra.trim() !== '') nodeArgs.push(...extra.trim().split(/\s+/));
    const child = spawn(process.execPath, [...nodeArgs, mainJs], { cwd: root, env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    const gateway = new GatewayProcess(child, httpPort, linkPort, logPath);
    await gateway.waitReady(options);
    return gateway;
  }

  private async waitReady(options: GatewayProcessOptions): Promise<void> {
    const deadline = Date.now() + options.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) {
        throw new GatewayStartError(`the gateway (profile ${options.profile}) exited with code ${this.exitCode} `
          + `before it was ready: ${this.startFailureReason()}`);
      }
      if (await this.isReady()) return;
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
    await this.stop();
    throw new GatewayStartError(`the gateway (profile ${options.profile}) was not ready within `
      + `${options.startTimeoutMs} ms: ${this.startFailureReason()}`);
  }

  private async isReady(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.httpPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /** The line of the gateway's output that explains a failed start, else the log's last line. */
  private startFailureReason(): string {
    const text = existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const failure = lines.find((line) => line.startsWith('gateway failed to start:'))
      // An uncaught error before main() could report it (a module missing from dist/, say).
      ?? lines.find((line) => /^[A-Za-z]*Error\b/.test(line));
    return failure ?? (lines.length === 0 ? 'no output' : lines.slice(-3).join(' | '));
  }

  /** The gateway's own /metrics text, for the per-step CPU and stand-in figures. */
  async scrapeMetrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    return response.text();
  }

  /** SIGTERM (graceful drain, and the CPU profile is written on the way out), SIGKILL after 15 s. */
  async stop(): Promise<number | null> {
    if (this.exitCode === null) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(killer);
    }
    return this.exitCode;
  }
}

/** Value of an unlabelled sample in Prometheus text, or 0 when absent. */
export function metricValue(metricsText: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(metricsText);
  return match === null ? 0 : Number(match[1]);
}
