/**
 * Retries only statements marked idempotent, and at most `maxRetries` times, always on the next host.
 *
 * The driver's default RetryPolicy.onRequestError retries on the next host "regardless of the
 * statement's idempotence, for historical reasons" (datastax/nodejs-driver lib/policies/retry.js);
 * 4.x's request execution happens to filter client timeouts for non-idempotent statements before
 * asking the policy, but server write timeouts and unavailable errors still reach it. This policy
 * makes the rule explicit instead of relying on that: a write whose fate is unknown is repeated
 * only when repeating it cannot change the outcome (our inserts write the same values under the
 * same primary key). Retrying on the same coordinator would most likely meet the same trouble, so a
 * retry always moves on; a second full timeout would already be outside the authorisation budget,
 * so the count stays small.
 */
import { policies, types } from 'cassandra-driver';

type OperationInfo = policies.retry.OperationInfo;
type DecisionInfo = policies.retry.DecisionInfo;

export class IdempotentOnlyRetryPolicy extends policies.retry.RetryPolicy {
  constructor(private readonly maxRetries: number) {
    super();
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError('maxRetries must be a whole number >= 0');
  }

  private mayRetry(info: OperationInfo): boolean {
    return info.executionOptions.isIdempotent() && info.nbRetry < this.maxRetries;
  }

  private nextHost(): DecisionInfo {
    // consistency undefined: keep the statement's own level (never downgrade a write below LOCAL_QUORUM).
    return this.retryResult(undefined as unknown as types.consistencies, false);
  }

  override onRequestError(info: OperationInfo): DecisionInfo {
    return this.mayRetry(info) ? this.nextHost() : this.rethrowResult();
  }

  override onWriteTimeout(info: OperationInfo): DecisionInfo {
    return this.mayRetry(info) ? this.nextHost() : this.rethrowResult();
  }

  override onUnavailable(info: OperationInfo): DecisionInfo {
    // The coordinator saw too few live replicas; another coordinator may see the cluster recovered.
    return this.mayRetry(info) ? this.nextHost() : this.rethrowResult();
  }

  override onReadTimeout(info: OperationInfo, _consistency: types.consistencies, received: number,
    blockFor: number, isDataPresent: boolean): DecisionInfo {
    // Enough replicas answered but the data replica did not: one retry is likely to succeed.
    if (this.mayRetry(info) && received >= blockFor && !isDataPresent) return this.nextHost();
    return this.rethrowResult();
  }
}
