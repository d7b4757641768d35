// The shared ledger contract (test/authorise/ledger-contract.ts) against the Redis ledger: every
// implementation must agree on every outcome.
import { CONTRACT_SHARD_COUNT, runLedgerContract } from '../../authorise/ledger-contract';
import { dropPrefix, openLedger, uniquePrefix } from './ledger-fixture';

runLedgerContract('Redis ledger', async () => {
  const prefix = uniquePrefix();
  const ledger = await openLedger(prefix, { shardCount: CONTRACT_SHARD_COUNT });
  return {
    ledger,
    cleanup: async () => {
      await ledger.close();
      await dropPrefix(prefix);
    },
  };
});
