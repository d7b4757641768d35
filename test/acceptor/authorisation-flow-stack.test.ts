/**
 * The same end-to-end authorisation tests as authorisation-flow.test.ts, on the full stack: the
 * Redis ledger and cards, etcd shard ownership and the Cassandra decision log (real services
 * started by scripts/services.sh), in a keyspace and key prefixes of this file's own.
 */
process.env['GATEWAY_TEST_FLAVOUR'] = 'stack';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./authorisation-flow.test');
