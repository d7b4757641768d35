/**
 * Process entry point (`npm start`): load configuration, start the gateway, stop it gracefully on
 * SIGTERM or SIGINT. A second signal during the drain exits at once.
 */
import { loadConfig, ConfigError } from './config/load-config';
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
