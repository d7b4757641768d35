/**
 * Loading a Redis Function library (Redis 7) from its .lua source.
 *
 * Functions, unlike EVALSHA's script cache, are saved and replicated with the data, so they survive
 * a restart with persistence and a failover. A Redis that restarted empty has none, though, so the
 * library is loaded (FUNCTION LOAD REPLACE) on every (re)connection, and a call that still meets
 * "Function not found" loads it and retries once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Redis from 'ioredis';

/**
 * The .lua files live beside this module in src/; tsc does not copy them into dist/, so from
 * dist/src/store/redis the source tree is four levels up.
 */
export function readLibrarySource(fileName: string): string {
  const candidates = [join(__dirname, fileName), resolve(__dirname, '../../../../src/store/redis', fileName)];
  for (const candidate of candidates) {
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  throw new Error(`Redis Function library ${fileName} not found (looked in ${candidates.join(', ')})`);
}

export async function loadLibrary(client: Redis, source: string): Promise<void> {
  await client.call('FUNCTION', 'LOAD', 'REPLACE', source);
}

export function isFunctionMissing(error: unknown): boolean {
  return error instanceof Error && /Function not found/i.test(error.message);
}

/**
 * Keeps a library loaded on a connection: now, and after every reconnection (the server may be a
 * new, empty one). Loading on reconnect is best effort; `callFunction` repairs a miss.
 */
export class FunctionLibrary {
  private loading: Promise<void> | undefined;

  constructor(private readonly client: Redis, private readonly source: string) {
    client.on('ready', () => {
      void this.reload().catch(() => undefined);
    });
  }

  reload(): Promise<void> {
    if (this.loading === undefined) {
      this.loading = loadLibrary(this.client, this.source).finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  /** FCALL; on "Function not found" loads the library and calls once more. */
  async call(name: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.fcall(name, 1, ...args);
    } catch (error: unknown) {
      if (!isFunctionMissing(error)) throw error;
      await this.reload();
      return this.client.fcall(name, 1, ...args);
    }
  }
}
