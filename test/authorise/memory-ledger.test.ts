import { runLedgerContract } from './ledger-contract';
import { MemoryLedger } from '../../src/authorise/memory-ledger';

runLedgerContract('embedded memory ledger', async () => ({
  ledger: new MemoryLedger({ retentionMs: 8 * 86_400_000 }),
  cleanup: async () => {},
}));
