/**
 * Process entry point (`npm start`): load configuration, start the gateway, stop it gracefully on
 * SIGTERM or SIGINT. A second signal during the drain exits at once.
 */
import { Counter } from 'prom-client';
import { loadConfig, ConfigError } from './config/load-config';
import { startGateway, type RunningGateway } from './gateway';

let gateway: RunningGateway | undefined;
let unhandledRejections: Counter | undefined;

// Installed before anything starts, so a failure during start-up is reported the same way.
// A rejection no code awaited (seen: cassandra-driver's control-connection refresh racing a socket
// close under overload, upstream NODEJS-681) must not take down in-flight authorisations with it:
// log it with its stack, count it (alert on any), keep serving. A synchronous uncaught exception
// leaves state unknown: log it and exit non-zero so the orchestrator restarts a clean process.
process.on('unhandledRejection', (reason: unknown) => {
  unhandledRejections?.inc();
  if (gateway === undefined) process.stderr.write(`unhandled promise rejection: ${describe(reason)}\n`);
  else gateway.logger.error({ err: reason }, 'unhandled promise rejection');
});
process.on('uncaughtException', (error: Error) => {
  if (gateway === undefined) {
    process.stderr.write(`uncaught exception during start-up: ${describe(error)}\n`);
  } else {
    gateway.logger.fatal({ err: error }, 'uncaught exception: exiting');
    gateway.logger.flush();
  }
  process.exit(70);
});

function describe(value: unknown): string {
  return value instanceof Error ? value.stack ?? value.message : String(value);
}

async function main(): Promise<void> {
  let running: RunningGateway;
  try {
    running = await startGateway({ config: loadConfig() });
  } catch (error) {
    // Start-up failures go to stderr in plain words: the logger may not exist yet.
    const reason = error instanceof ConfigError ? error.message : describe(error);
    process.stderr.write(`gateway failed to start: ${reason}\n`);
    process.exit(1);
  }
  gateway = running;
  unhandledRejections = new Counter({ name: 'gateway_unhandled_rejections_total',
    help: 'Promise rejections nothing handled (logged at error; the process keeps serving).',
    registers: [running.metrics.registry] });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      running.logger.warn({ signal }, 'second signal during drain: exiting now');
      process.exit(1);
    }
    signalled = true;
    running.logger.info({ signal }, 'shutdown requested');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

void main();
