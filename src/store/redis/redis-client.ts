/**
 * ioredis connections for the hot path: fail fast instead of queueing.
 *
 * A request has a 50 ms budget by default. ioredis' defaults (offline queue on, 20 retries per
 * command, no command timeout) would park an authorisation for seconds while Redis is down, long
 * after the scheme stopped waiting. Here a command rejects when it is not answered within
 * `commandTimeoutMs`, and at once while the connection is down; the caller answers by its
 * stand-in policy. A rejected command's outcome is unknown (it may have run): every ledger step is
 * keyed, so retrying it with the same key replays rather than repeats it.
 */
import Redis, { type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /** redis://host:port[/db] */
  url: string;
  /** A command unanswered after this long rejects. Inside the 50 ms default budget with room to answer. */
  commandTimeoutMs?: number;
  /** How long a (re)connection attempt may take before it is abandoned and retried. */
  connectTimeoutMs?: number;
  /** Name shown in CLIENT LIST, to tell the gateway's connections apart when debugging. */
  connectionName?: string;
  /** Batch commands of one tick into one pipeline (default true: the hot path). */
  autoPipelining?: boolean;
}

/** 40 ms: an authorisation's Redis step answers in well under 1 ms on loopback (see docs), so a
 * command still unanswered after 40 ms will not make a 50 ms budget; failing it leaves 10 ms to
 * answer by the stand-in policy. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 40;
/** A second is ample for a TCP connect on a LAN and bounds how long start-up waits on a dead Redis. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
/** Reconnect quickly at first, then back off to at most half a second between attempts. */
const MAX_RECONNECT_DELAY_MS = 500;

export function redisOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    connectionName: options.connectionName ?? 'authorisation-gateway',
    // Commands issued in one event-loop tick leave as one pipeline: concurrent authorisations share
    // a write and a read syscall instead of one each.
    enableAutoPipelining: options.autoPipelining ?? true,
    // While disconnected, reject at once rather than queue past the request's deadline.
    enableOfflineQueue: false,
    // A command caught by a dropped connection is retried once after reconnect; it is keyed, so a
    // retry replays. More retries would only answer after the scheme gave up.
    maxRetriesPerRequest: 1,
    noDelay: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
    lazyConnect: true,
    // No CLIENT SETINFO at connect: Debian's Redis 7.0 answers it with an error, and ioredis 5.8
    // clears a command's timeout timer only on a reply, never on an error, so each connection left
    // two live timers (10 s on the patient client) that held a finished process open.
    disableClientInfo: true,
  };
}

/** Connects and resolves once the connection is ready; rejects if Redis cannot be reached. */
export async function connectRedis(options: RedisConnectionOptions): Promise<Redis> {
  const client = new Redis(options.url, redisOptions(options));
  // Errors are reported by the command that hit them; without a listener ioredis logs every
  // reconnect attempt to stderr.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error: unknown) {
    client.disconnect();
    throw error;
  }
  return client;
}
