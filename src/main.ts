/**
 * Process entry point (`npm start`): load configuration, start the gateway, stop it gracefully on
 * SIGTERM or SIGINT. A second signal during the drain exits at once.
 */
import { loadConfig, ConfigError } from './config/load-config';
import { Counter } from 'prom-client';
import { startGateway, type RunningGateway } from './gateway';

async function main(): Promise<void> {
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ config: loadConfig() });
  } catch (error) {
    // Start-up failures go to stderr in plain words: the logger may not exist yet.
    const reason = error instanceof ConfigError ? error.message : (error as Error).stack ?? String(error);
    process.stderr.write(`gateway failed to start: ${reason}\n`);
    process.exit(1);
  }

  // A rejection no code awaited (seen: cassandra-driver's control-connection refresh racing a socket
  // close under overload, upstream NODEJS-681) must not take down in-flight authorisations with it:
  // log it with its stack, count it (alert on any), keep serving. A synchronous uncaught exception
  // leaves state unknown: log it and exit non-zero so the orchestrator restarts a clean process.
  const unhandledRejections = new Counter({ name: 'gateway_unhandled_rejections_total',
    help: 'Promise rejections nothing handled (logged at error; the process keeps serving).',
    registers: [gateway.metrics.registry] });
  process.on('unhandledRejection', (reason: unknown) => {
    unhandledRejections.inc();
    gateway.logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error: Error) => {
    gateway.logger.fatal({ err: error }, 'uncaught exception: exiting');
    gateway.logger.flush();
    process.exit(70);
  });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      gateway.logger.warn({ signal }, 'second signal during drain: exiting now');
      process.exit(1);
    }
    signalled = true;
    gateway.logger.info({ signal }, 'shutdown requested');
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        gateway.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

void main();
