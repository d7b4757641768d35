/**
 * An etcd3 client whose every unary call has a deadline.
 *
 * etcd3 sets none by default: with a member stopped, calls routed to it hang (services-notes §3).
 * A shard directory that hangs cannot notice it lost its lease, so each call is bounded and the
 * library's retry (3 attempts, next host each time) moves on to a live member.
 */
import { Etcd3 } from 'etcd3';

/** One second: an etcd write commits in a few ms on this machine and ~20 ms under load; a call
 * still unanswered after a second is on a member that is gone, and the retry tries another. */
export const DEFAULT_ETCD_CALL_DEADLINE_MS = 1000;

export function createEtcdClient(endpoints: readonly string[], callDeadlineMs = DEFAULT_ETCD_CALL_DEADLINE_MS): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    // Streams (watch, lease keepalive) live for the process; their health is checked separately.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callDeadlineMs }),
    // Bounds how long a first connection to an unreachable member may take.
    dialTimeout: callDeadlineMs,
  });
}
