/**
 * The process's Prometheus registry: prom-client's default Node metrics plus the gateway's own.
 * One registry, created at start-up and handed to every part that records metrics, so tests can
 * make their own and nothing depends on prom-client's global.
 */
import { getHeapStatistics } from 'node:v8';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  /** 1 while the process serves, 0 once it has begun to drain. */
  up: Gauge;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const up = new Gauge({
    name: 'gateway_up',
    help: '1 while the gateway process is serving; 0 once it has begun to drain.',
    registers: [registry],
  });
  up.set(1);
  // prom-client exports the heap in use (nodejs_heap_size_used_bytes) but not V8's limit, past
  // which the process dies; the heap alert needs both (config/alerts/gateway.rules.yml).
  const heapLimit = new Gauge({
    name: 'gateway_heap_limit_bytes',
    help: 'V8 heap size limit of this process (--max-old-space-size or its default): past it, the process dies.',
    registers: [registry],
  });
  heapLimit.set(getHeapStatistics().heap_size_limit);
  return { registry, up };
}
