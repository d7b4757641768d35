/**
 * A Cassandra client that lived through an outage must still let the process go when it is shut
 * down: cassandra-driver 4.10 replaces its Host after every node was unreachable without shutting the
 * old one down, and that host's pool then reconnects (and its health timer runs) for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { shutdownCassandra } from '../../../src/store/cassandra/client';
import { cassandraContactPoints } from '../../support/services';
import { CuttableProxy, openClient, testSettings } from './support';

/** Sockets and referenced timers: what keeps a process from exiting. */
function liveResources(): { sockets: number; timers: number } {
  const resources = process.getActiveResourcesInfo();
  return {
    sockets: resources.filter((name) => name === 'TCPSocketWrap' || name === 'TCPWrap').length,
    timers: resources.filter((name) => name === 'Timeout').length,
  };
}

async function untilAnswered(run: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run();
      return;
    } catch (error: unknown) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

test('a client shut down after its node was cut and restored leaves no socket or timer behind', { timeout: 90_000 }, async () => {
  const proxy = await CuttableProxy.start(cassandraContactPoints[0] as string);
  try {
    await sleep(50);
    const before = liveResources();
    const client = await openClient(testSettings('system', { contactPoints: [proxy.contactPoint] }));
    const ping = (): Promise<unknown> => client.execute('SELECT release_version FROM system.local');
    await ping();
    let replacedHosts = 0;
    client.hosts.on('remove', () => { replacedHosts++; });
    // Cut for 1-2 s with requests still arriving, then restore. If the control connection, starting
    // over from the contact points, reconnects before the host's own pool does, it replaces the
    // Host; which one wins is a race, so cut again, for a different length of time, until it has.
    for (let outage = 0; outage < 15 && replacedHosts === 0; outage++) {
      proxy.refuse();
      const requestsDuringOutage = 3 + (outage % 5);
      for (let attempt = 0; attempt < requestsDuringOutage; attempt++) {
        await ping().catch(() => undefined);
        await sleep(300);
      }
      proxy.restore();
      await untilAnswered(ping, 20_000);
    }
    await shutdownCassandra(client);
    assert.ok(replacedHosts > 0, 'the outages made the driver replace its Host (the case this test is about)');
    // Closes wind down over a few turns; the driver's reconnect delay here is at most 500 ms.
    let after = liveResources();
    for (let attempt = 0; attempt < 30 && (after.sockets > before.sockets || after.timers > before.timers); attempt++) {
      await sleep(100);
      after = liveResources();
    }
    assert.ok(after.sockets <= before.sockets, `sockets before ${before.sockets}, after ${after.sockets}`);
    assert.ok(after.timers <= before.timers, `referenced timers before ${before.timers}, after ${after.timers}`);
  } finally {
    await proxy.close();
  }
});
