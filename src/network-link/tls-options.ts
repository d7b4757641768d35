/**
 * node:tls options for a link, read from the certificate paths in its config. Files are read once
 * at start-up; a missing or unreadable file stops start-up naming the config key.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, type ConnectionOptions, type SecureContext, type TlsOptions } from 'node:tls';
import { LinkConfig, LinkConfigError, LinkTlsConfig } from './config';

function readPem(path: string | null, key: string): Buffer | undefined {
  if (path === null) return undefined;
  try {
    return readFileSync(path);
  } catch (error: unknown) {
    throw new LinkConfigError(key, `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function pemOptions(tls: LinkTlsConfig, linkName: string): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  const prefix = `link ${linkName}.tls`;
  const options: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {};
  const cert = readPem(tls.certPath, `${prefix}.certPath`);
  const key = readPem(tls.keyPath, `${prefix}.keyPath`);
  const ca = readPem(tls.caPath, `${prefix}.caPath`);
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (ca !== undefined) options.ca = ca;
  return options;
}

/** Server side. With requireClientCert, a peer without a certificate signed by `caPath` is refused. */
export function serverTlsOptions(config: LinkConfig, tls: LinkTlsConfig): TlsOptions {
  return {
    ...pemOptions(tls, config.name),
    minVersion: tls.minVersion,
    requestCert: tls.requireClientCert,
    rejectUnauthorized: tls.requireClientCert,
    // The handshake counts as part of connecting; a peer that stalls it is dropped like a slow one.
    handshakeTimeout: config.connectTimeoutMs,
  };
}

/**
 * Client side: always verifies the scheme's certificate (against `caPath`, else the system CAs).
 * The certificates go into one secure context, built here, at start-up: a missing file or a PEM
 * that does not parse stops start-up naming the link, instead of failing (or throwing) at a redial.
 */
export function clientTlsOptions(config: LinkConfig, tls: LinkTlsConfig): ConnectionOptions {
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ ...pemOptions(tls, config.name), minVersion: tls.minVersion });
  } catch (error: unknown) {
    if (error instanceof LinkConfigError) throw error;
    throw new LinkConfigError(`link ${config.name}.tls`,
      `certificates do not load: ${error instanceof Error ? error.message : String(error)}`);
  }
  const options: ConnectionOptions = { secureContext, minVersion: tls.minVersion, rejectUnauthorized: true };
  // SNI may not carry an IP address (RFC 6066); the certificate is still checked against the host.
  const serverName = tls.serverName ?? (isIP(config.host) === 0 ? config.host : null);
  if (serverName !== null) options.servername = serverName;
  return options;
}
