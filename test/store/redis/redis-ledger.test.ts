// The shared ledger contract (test/authorise/ledger-contract.ts) against the Redis ledger: every
// implementation must agree on every outcome.
import { runLedgerContract } from '../../authorise/ledger-contract';
import { dropPrefix, openLedger, uniquePrefix } from './ledger-fixture';

runLedgerContract('Redis ledger', async () => {
  const prefix = uniquePrefix();
  // The contract places every account in one shard of its choosing, not in shardOfAccount's.
  const ledger = await openLedger(prefix, { verifyAccountShard: false });
  return {
    ledger,
    cleanup: async () => {
      await ledger.close();
      await dropPrefix(prefix);
    },
  };
});
