/**
 * The process's Prometheus registry: prom-client's default Node metrics plus the gateway's own.
 * One registry, created at start-up and handed to every part that records metrics, so tests can
 * make their own and nothing depends on prom-client's global.
 */
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
  return { registry, up };
}
