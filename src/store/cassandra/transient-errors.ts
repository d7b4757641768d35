/**
 * Which Cassandra failures are passing (worth trying again later) and which are refusals for good:
 * the journal's replay keeps a transient failure's records for the next round, the group commit
 * sends a batch's decisions again one by one after a refusal for good.
 */
import { errors as driverErrors } from 'cassandra-driver';

/** Client timeouts, connection loss, overload, unavailable replicas: worth trying again later. */
export function isTransientCassandraError(error: unknown): boolean {
  if (error instanceof driverErrors.NoHostAvailableError) return true;
  if (error instanceof driverErrors.OperationTimedOutError) return true;
  if (error instanceof driverErrors.BusyConnectionError) return true;
  if (error instanceof driverErrors.ResponseError) {
    // Server error, unavailable, overloaded, bootstrapping, truncate, write/read timeout, read/write failure.
    return [0x0000, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1500].includes(error.code);
  }
  // Not written inside the append's bound: the decision log's own timeout, or its queue.
  if (error instanceof Error && (error.name === 'AppendTimeoutError' || error.name === 'QueuedPastBoundError')) return true;
  // Socket-level errors from the driver carry isSocketError.
  return error instanceof Error && (error as { isSocketError?: boolean }).isSocketError === true;
}
