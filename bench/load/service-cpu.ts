/**
 * CPU time of the services the stack profile shares the machine with (Redis, etcd, Cassandra),
 * read from /proc/<pid>/stat (utime + stime) at the measured window's two ends, so a ladder step
 * reports each service's CPU per decision beside the gateway's own. The pids come from the files
 * scripts/services.sh writes in its state folder (GATEWAY_SERVICES_DIR, default
 * /tmp/authorisation-gateway-services). A service that is not running, or a machine without /proc,
 * is simply left out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_SERVICES = ['cassandra', 'redis', 'etcd1'] as const;
export type BenchService = (typeof BENCH_SERVICES)[number];

/** Clock ticks per second of /proc's utime and stime: 100 on Linux for every architecture we run. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat after the command name (field 3, the state, is index 0), or
 * undefined if unreadable. The command name (field 2) can hold spaces and parentheses: fields are
 * counted after its last ')'.
 */
function statFieldsAfterName(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used (all its threads, living and exited), or undefined if unreadable. */
export function processCpuSeconds(pid: number): number | undefined {
  const fields = statFieldsAfterName(pid);
  if (fields === undefined) return undefined;
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return undefined;
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}

function servicePid(stateDir: string, service: BenchService): number | undefined {
  try {
    const pid = Number(readFileSync(join(stateDir, `${service}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds since a process started (/proc/<pid>/stat starttime against /proc/uptime), or undefined. */
export function processAgeSeconds(pid: number): number | undefined {
  const fields = statFieldsAfterName(pid);
  if (fields === undefined) return undefined;
  // starttime is field 22 of stat: clock ticks after boot.
  const startTicks = Number(fields[19]);
  const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  if (!Number.isFinite(startTicks) || !Number.isFinite(uptimeSeconds)) return undefined;
  return Math.max(0, uptimeSeconds - startTicks / CLOCK_TICKS_PER_SECOND);
}

/** How long ago a service started by scripts/services.sh started, or undefined (not running, not ours). */
export function serviceAgeSeconds(service: BenchService, stateDir: string = servicesStateDir()): number | undefined {
  const pid = servicePid(stateDir, service);
  return pid === undefined ? undefined : processAgeSeconds(pid);
}

export type ServiceCpuSnapshot = Partial<Record<BenchService, number>>;

export function servicesStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['GATEWAY_SERVICES_DIR'] ?? '/tmp/authorisation-gateway-services';
}

/** CPU seconds of every service running now, by name. */
export function snapshotServiceCpu(stateDir: string = servicesStateDir()): ServiceCpuSnapshot {
  const snapshot: ServiceCpuSnapshot = {};
  for (const service of BENCH_SERVICES) {
    const pid = servicePid(stateDir, service);
    const seconds = pid === undefined ? undefined : processCpuSeconds(pid);
    if (seconds !== undefined) snapshot[service] = seconds;
  }
  return snapshot;
}

/** Microseconds of each service's CPU per request between two snapshots (services in both only). */
export function serviceCpuMicrosPerRequest(before: ServiceCpuSnapshot, after: ServiceCpuSnapshot,
  requests: number): ServiceCpuSnapshot {
  const perRequest: ServiceCpuSnapshot = {};
  for (const service of BENCH_SERVICES) {
    const start = before[service];
    const end = after[service];
    if (start === undefined || end === undefined || requests <= 0) continue;
    perRequest[service] = Math.round(((end - start) * 1e6) / requests);
  }
  return perRequest;
}
