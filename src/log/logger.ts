/**
 * Structured JSON logs (pino). One root logger per process; parts take a child bound once with
 * their name, so per-line work is only the line itself.
 *
 * Redaction is a second line of defence: code logs masked PANs (first 6, last 4) itself, and these
 * paths drop clear card data should a field object reach a log call by mistake.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/schema';

export type { Logger };

export const redactedLogPaths: readonly string[] = [
  'pan', '*.pan', 'track2', '*.track2', 'pinBlock', '*.pinBlock', 'cvv', '*.cvv',
  'req.headers.authorization',
];

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout (fd 1) by default. Tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const loggerOptions: pino.LoggerOptions = {
    level: options.level,
    base: { service: 'authorisation-gateway', pid: process.pid },
    redact: { paths: [...redactedLogPaths], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  // Asynchronous destination: log I/O stays off the authorisation path (pino docs, asynchronous.md).
  const destination = options.destination ?? pino.destination({ fd: 1, sync: false, minLength: 4096 });
  return pino(loggerOptions, destination);
}
