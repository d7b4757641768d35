'use strict';
// Readiness probe for the test Cassandra node, run by scripts/services.sh.
// "Ready" means a CQL query answers, not merely that the port is open: Cassandra opens its native port
// a moment before it serves queries. Plain JavaScript because it runs before the TypeScript build.
//
// usage: node wait-for-cql.js <host:port> <localDataCenter> <timeoutSeconds> [pidToWatch]
// exit 0 and prints release_version when ready; 1 on timeout; 2 when the watched process died.

const net = require('node:net');
const cassandra = require('cassandra-driver');

const [contactPoint, localDataCenter, timeoutArg, pidArg] = process.argv.slice(2);
if (contactPoint === undefined || localDataCenter === undefined || timeoutArg === undefined) {
  process.stderr.write('usage: node wait-for-cql.js <host:port> <localDataCenter> <timeoutSeconds> [pid]\n');
  process.exit(64);
}
const separator = contactPoint.lastIndexOf(':');
const host = contactPoint.slice(0, separator);
const port = Number(contactPoint.slice(separator + 1));
const deadline = Date.now() + Number(timeoutArg) * 1000;
const watchedPid = pidArg === undefined ? undefined : Number(pidArg);
// One second between attempts: start-up takes tens of seconds, and each driver attempt costs CPU the
// starting node needs on a 2-core machine.
const pollIntervalMs = 1000;

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen() {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

async function queryReleaseVersion() {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    // The driver speaks protocol v4 at most; asking for it directly skips a failed v5/DSE probe.
    protocolOptions: { maxVersion: 4 },
    socketOptions: { connectTimeout: 5000, readTimeout: 10000 },
  });
  try {
    await client.connect();
    const result = await client.execute('SELECT release_version FROM system.local');
    const row = result.first();
    return row === null ? undefined : String(row.get('release_version'));
  } catch {
    return undefined;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

async function main() {
  for (;;) {
    if (watchedPid !== undefined && !processAlive(watchedPid)) {
      process.stderr.write(`cassandra process ${watchedPid} exited before it answered CQL\n`);
      return 2;
    }
    // A TCP check first: cheap, and keeps driver connection errors out of the way while the port is closed.
    if (await portOpen()) {
      const releaseVersion = await queryReleaseVersion();
      if (releaseVersion !== undefined) {
        process.stdout.write(`${releaseVersion}\n`);
        return 0;
      }
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`no CQL answer from ${contactPoint} within ${timeoutArg} s\n`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

main().then((code) => process.exit(code));
