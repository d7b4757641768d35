/**
 * Configuration of one link to the card scheme: its typed shape, its defaults in one visible block,
 * and a validator that names the offending key (`links[0].framing`) and refuses unknown keys, so a
 * misspelt limit stops start-up instead of silently running on a default.
 */
import { FRAMING_KINDS, FramingKind, framingFor, isFramingKind } from './framing';

export type LinkMode = 'server' | 'client';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface LinkTlsConfig {
  /** PEM certificate chain we present. Required in server mode; in client mode only for mTLS. */
  certPath: string | null;
  keyPath: string | null;
  /** PEM CA bundle that verifies the peer. Client mode falls back to the system CAs without it. */
  caPath: string | null;
  /** Server mode: demand a client certificate signed by `caPath` (mutual TLS) and refuse others. */
  requireClientCert: boolean;
  /** Client mode: the name the scheme's certificate must carry; defaults to `host`. */
  serverName: string | null;
  minVersion: TlsVersion;
}

export interface LinkConfig {
  /** Unique per process; the `link` label on metrics and logs. */
  name: string;
  /** server: the scheme connects to us. client: we dial the scheme. */
  mode: LinkMode;
  host: string;
  port: number;
  /** Dialect file name under config/dialects (without .json). */
  dialect: string;
  framing: FramingKind;
  /** Fixed header bytes between the length field and the MTI (a TPDU, a BASE I header). */
  headerBytes: number;
  /** Header sent on messages we originate, as hex; empty means zeros. Responses echo the request's. */
  headerTemplateHex: string;
  /** Largest frame body accepted (header bytes plus message); a larger length closes the link. */
  frameBytesMax: number;
  /** Requests handed to the acceptor and not yet answered; beyond it the socket stops being read. */
  inflightMax: number;
  /** Server mode: concurrent connections from the scheme. */
  connectionsMax: number;
  /** Refuse financial requests (DE 39 = 91) until the peer, or we, have signed on. */
  signOnRequired: boolean;
  /** Send an 0800 echo after this long without receiving anything; 0 disables. */
  echoIdleMs: number;
  /** Consecutive unanswered echoes after which the connection is called down and closed. */
  echoUnansweredMax: number;
  /** How long a request we originate (sign-on, echo, sign-off) waits for its response. */
  originatedTimeoutMs: number;
  /** Close a connection that has sent nothing for this long; 0 disables. */
  readIdleTimeoutMs: number;
  /** Close a connection whose frame has started but not completed within this long (slow peer). */
  frameAssemblyTimeoutMs: number;
  /** Client mode: TCP connect plus TLS handshake bound. */
  connectTimeoutMs: number;
  /** Client mode reconnect: first delay, doubled per failure up to the maximum. */
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Fraction of each delay that is randomised away, so many gateways do not redial in step. */
  reconnectJitterRatio: number;
  /** Parts of the key that matches a response to a request we originated: "mti" or a DE number. */
  matchKey: string[];
  /** Extra fixed fields on 0800s we originate (e.g. DE 33 forwarding institution), by DE number. */
  networkManagementFields: Record<string, string>;
  tls: LinkTlsConfig | null;
}

/**
 * Defaults, each with its reason. The frame and in-flight limits bound memory per connection; the
 * timers follow what schemes and the two reference stacks (moov iso8583-connection, jPOS) use.
 */
export const linkConfigDefaults: Omit<LinkConfig, 'name' | 'tls'> & { tls: null } = {
  mode: 'server',
  host: '127.0.0.1',
  port: 8583,
  dialect: 'ascii',
  framing: 'binary2',
  headerBytes: 0,
  headerTemplateHex: '',
  // An authorisation with chip data (DE 55) and private fields stays well under 4 KiB; 8 KiB leaves
  // room yet bounds what a hostile length can make us buffer. Fits every framing (bcd2/ascii4: 9999).
  frameBytesMax: 8192,
  // Little's law: 2,000 requests/s at a 50 ms mean service time is 100 in flight; 256 leaves
  // headroom for bursts while bounding queued work per link.
  inflightMax: 256,
  // A scheme opens one or a few connections per link; 8 allows failover overlap, not a flood.
  connectionsMax: 8,
  signOnRequired: true,
  // Visa sends session control after about 10 s idle; 30 s of our own echo keeps NATs and
  // firewalls open without chatter.
  echoIdleMs: 30_000,
  echoUnansweredMax: 3,
  originatedTimeoutMs: 5_000,
  // Backstop for a peer that answers nothing and sends nothing while echo is disabled.
  readIdleTimeoutMs: 120_000,
  // A frame's bytes arrive within milliseconds on a healthy link; 5 s is a stuck or slowloris peer.
  frameAssemblyTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  reconnectInitialMs: 500,
  reconnectMaxMs: 30_000,
  reconnectJitterRatio: 0.5,
  // jPOS QMUX default: MTI class, DE 11 (STAN) and DE 41 (terminal id).
  matchKey: ['mti', '11', '41'],
  networkManagementFields: {},
  tls: null,
};

export const tlsConfigDefaults: LinkTlsConfig = {
  certPath: null,
  keyPath: null,
  caPath: null,
  requireClientCert: false,
  serverName: null,
  minVersion: 'TLSv1.2',
};

/** A link entry failed validation; `key` is the path of the offending key. */
export class LinkConfigError extends Error {
  readonly key: string;

  constructor(key: string, reason: string) {
    super(`${key}: ${reason}`);
    this.name = 'LinkConfigError';
    this.key = key;
  }
}

type RawObject = Record<string, unknown>;

function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class FieldReader {
  constructor(
    private readonly raw: RawObject,
    private readonly path: string,
  ) {}

  key(name: string): string {
    return `${this.path}.${name}`;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const name of Object.keys(this.raw)) {
      if (!known.includes(name)) throw new LinkConfigError(this.key(name), 'unknown key');
    }
  }

  string(name: string, fallback: string | undefined, pattern?: RegExp): string {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'string' || value.length === 0) {
      throw new LinkConfigError(this.key(name), 'must be a non-empty string');
    }
    if (pattern !== undefined && !pattern.test(value)) {
      throw new LinkConfigError(this.key(name), `must match ${pattern}`);
    }
    return value;
  }

  optionalString(name: string): string | null {
    const value = this.raw[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value.length === 0) {
      throw new LinkConfigError(this.key(name), 'must be a non-empty string');
    }
    return value;
  }

  integer(name: string, fallback: number, minimum: number, maximum: number): number {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
      throw new LinkConfigError(this.key(name), `must be an integer from ${minimum} to ${maximum}`);
    }
    return value;
  }

  ratio(name: string, fallback: number): number {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new LinkConfigError(this.key(name), 'must be a number from 0 to 1');
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'boolean') throw new LinkConfigError(this.key(name), 'must be true or false');
    return value;
  }

  /** Hex text, possibly empty (so not `string`, which demands content). */
  hex(name: string, fallback: string): string {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(value)) {
      throw new LinkConfigError(this.key(name), 'must be hex digits in pairs');
    }
    return value;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw[name] ?? fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new LinkConfigError(this.key(name), `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }
}

const LINK_KEYS = [
  'name', 'mode', 'host', 'port', 'dialect', 'framing', 'headerBytes', 'headerTemplateHex',
  'frameBytesMax', 'inflightMax', 'connectionsMax', 'signOnRequired', 'echoIdleMs',
  'echoUnansweredMax', 'originatedTimeoutMs', 'readIdleTimeoutMs', 'frameAssemblyTimeoutMs',
  'connectTimeoutMs', 'reconnectInitialMs', 'reconnectMaxMs', 'reconnectJitterRatio', 'matchKey',
  'networkManagementFields', 'tls',
] as const;

const TLS_KEYS = ['certPath', 'keyPath', 'caPath', 'requireClientCert', 'serverName', 'minVersion'] as const;

const HOUR_MS = 3_600_000;
/** Largest fixed header we know of is the 22-byte Visa BASE I header; 64 leaves room. */
const HEADER_BYTES_MAX = 64;
/** A link name becomes a metric label and a log field: keep it short and plain. */
const LINK_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const DATA_ELEMENT_PATTERN = /^(?:[2-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$/;

function readMatchKey(raw: unknown, key: string): string[] {
  if (raw === undefined) return [...linkConfigDefaults.matchKey];
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new LinkConfigError(key, 'must be a non-empty list of "mti" or data element numbers');
  }
  return raw.map((part: unknown, index) => {
    const text = typeof part === 'number' ? String(part) : part;
    if (text !== 'mti' && !(typeof text === 'string' && DATA_ELEMENT_PATTERN.test(text))) {
      throw new LinkConfigError(`${key}[${index}]`, 'must be "mti" or a data element number 2-128');
    }
    return text;
  });
}

function readNetworkFields(raw: unknown, key: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new LinkConfigError(key, 'must be a map of data element number to value');
  const fields: Record<string, string> = {};
  for (const [element, value] of Object.entries(raw)) {
    if (!DATA_ELEMENT_PATTERN.test(element)) {
      throw new LinkConfigError(`${key}.${element}`, 'must be a data element number 2-128');
    }
    if (typeof value !== 'string') throw new LinkConfigError(`${key}.${element}`, 'must be a string');
    fields[element] = value;
  }
  return fields;
}

function readTls(raw: unknown, key: string, mode: LinkMode): LinkTlsConfig | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw new LinkConfigError(key, 'must be an object');
  const fields = new FieldReader(raw, key);
  fields.rejectUnknown(TLS_KEYS);
  const tls: LinkTlsConfig = {
    certPath: fields.optionalString('certPath'),
    keyPath: fields.optionalString('keyPath'),
    caPath: fields.optionalString('caPath'),
    requireClientCert: fields.boolean('requireClientCert', tlsConfigDefaults.requireClientCert),
    serverName: fields.optionalString('serverName'),
    minVersion: fields.oneOf('minVersion', tlsConfigDefaults.minVersion, ['TLSv1.2', 'TLSv1.3']),
  };
  if ((tls.certPath === null) !== (tls.keyPath === null)) {
    throw new LinkConfigError(fields.key(tls.certPath === null ? 'certPath' : 'keyPath'),
      'certPath and keyPath go together');
  }
  if (mode === 'server' && tls.certPath === null) {
    throw new LinkConfigError(fields.key('certPath'), 'a server-mode TLS link needs certPath and keyPath');
  }
  if (tls.requireClientCert && mode !== 'server') {
    throw new LinkConfigError(fields.key('requireClientCert'), 'applies to server-mode links only');
  }
  if (tls.requireClientCert && tls.caPath === null) {
    throw new LinkConfigError(fields.key('caPath'), 'needed to verify client certificates');
  }
  return tls;
}

/** Validates one raw link entry and fills defaults. `path` prefixes error keys (`links[0]`). */
export function validateLinkConfig(raw: unknown, path = 'link'): LinkConfig {
  if (!isObject(raw)) throw new LinkConfigError(path, 'must be an object');
  const fields = new FieldReader(raw, path);
  fields.rejectUnknown(LINK_KEYS);
  const d = linkConfigDefaults;
  const mode = fields.oneOf<LinkMode>('mode', d.mode, ['server', 'client']);
  const framingValue = raw['framing'] ?? d.framing;
  if (!isFramingKind(framingValue)) {
    throw new LinkConfigError(fields.key('framing'), `must be one of ${FRAMING_KINDS.join(', ')}`);
  }
  const framing = framingFor(framingValue);
  const headerBytes = fields.integer('headerBytes', d.headerBytes, 0, HEADER_BYTES_MAX);
  const config: LinkConfig = {
    name: fields.string('name', undefined, LINK_NAME_PATTERN),
    mode,
    host: fields.string('host', d.host),
    // Port 0 (any free port) only makes sense when we listen.
    port: fields.integer('port', d.port, mode === 'server' ? 0 : 1, 65535),
    dialect: fields.string('dialect', d.dialect, /^[A-Za-z0-9_-]+$/),
    framing: framingValue,
    headerBytes,
    headerTemplateHex: fields.hex('headerTemplateHex', d.headerTemplateHex),
    // The MTI (2 bytes at least, BCD) must fit; the framing's length field caps the top.
    frameBytesMax: fields.integer('frameBytesMax', Math.min(d.frameBytesMax, framing.maxBodyBytes),
      headerBytes + 2, framing.maxBodyBytes),
    inflightMax: fields.integer('inflightMax', d.inflightMax, 1, 65_536),
    connectionsMax: fields.integer('connectionsMax', d.connectionsMax, 1, 1024),
    signOnRequired: fields.boolean('signOnRequired', d.signOnRequired),
    echoIdleMs: fields.integer('echoIdleMs', d.echoIdleMs, 0, HOUR_MS),
    echoUnansweredMax: fields.integer('echoUnansweredMax', d.echoUnansweredMax, 1, 100),
    originatedTimeoutMs: fields.integer('originatedTimeoutMs', d.originatedTimeoutMs, 1, HOUR_MS),
    readIdleTimeoutMs: fields.integer('readIdleTimeoutMs', d.readIdleTimeoutMs, 0, 24 * HOUR_MS),
    frameAssemblyTimeoutMs: fields.integer('frameAssemblyTimeoutMs', d.frameAssemblyTimeoutMs, 1, HOUR_MS),
    connectTimeoutMs: fields.integer('connectTimeoutMs', d.connectTimeoutMs, 1, HOUR_MS),
    reconnectInitialMs: fields.integer('reconnectInitialMs', d.reconnectInitialMs, 1, HOUR_MS),
    reconnectMaxMs: fields.integer('reconnectMaxMs', d.reconnectMaxMs, 1, HOUR_MS),
    reconnectJitterRatio: fields.ratio('reconnectJitterRatio', d.reconnectJitterRatio),
    matchKey: readMatchKey(raw['matchKey'], fields.key('matchKey')),
    networkManagementFields: readNetworkFields(raw['networkManagementFields'], fields.key('networkManagementFields')),
    tls: readTls(raw['tls'], fields.key('tls'), mode),
  };
  if (config.headerTemplateHex.length > 0 && config.headerTemplateHex.length !== headerBytes * 2) {
    throw new LinkConfigError(fields.key('headerTemplateHex'), `must be ${headerBytes * 2} hex digits or empty`);
  }
  if (config.reconnectMaxMs < config.reconnectInitialMs) {
    throw new LinkConfigError(fields.key('reconnectMaxMs'), 'must not be below reconnectInitialMs');
  }
  return config;
}

/** Validates every entry, then what spans entries: unique names, one listener per address. */
export function validateLinkConfigs(raw: readonly unknown[], path = 'links'): LinkConfig[] {
  const links = raw.map((entry, index) => validateLinkConfig(entry, `${path}[${index}]`));
  const names = new Set<string>();
  const listeners = new Set<string>();
  links.forEach((link, index) => {
    if (names.has(link.name)) throw new LinkConfigError(`${path}[${index}].name`, `duplicate link name ${link.name}`);
    names.add(link.name);
    if (link.mode === 'server' && link.port !== 0) {
      const address = `${link.host}:${link.port}`;
      if (listeners.has(address)) throw new LinkConfigError(`${path}[${index}].port`, `${address} is already used by another link`);
      listeners.add(address);
    }
  });
  return links;
}
