/**
 * Loads uWebSockets.js and proves its native binding is the one in use.
 *
 * The package we install (`@trufflesuite/uws-js-unofficial`, aliased as `uWebSockets.js`) quietly
 * falls back to a slow pure-JS copy when its native addon cannot load, printing only a warning.
 * A gateway that silently lost its HTTP engine would pass every functional check and fail under
 * load, so start-up refuses to continue unless the loaded module came from a `.node` binary.
 */
import type * as uws from 'uWebSockets.js';

export type Uws = typeof uws;

export class UwsNativeBindingError extends Error {
  override readonly name = 'UwsNativeBindingError';
}

export function loadNativeUws(): Uws {
  if (/^(1|true)$/i.test(process.env['UWS_USE_FALLBACK'] ?? '')) {
    throw new UwsNativeBindingError(
      'UWS_USE_FALLBACK is set: the gateway runs only on the native uWebSockets.js binding');
  }
  const expectedBinary =
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  // The fallback warns on stderr through console.warn; capture it so the failure is ours to report.
  const originalWarn = console.warn;
  const warnings: string[] = [];
  console.warn = (...parts: unknown[]): void => { warnings.push(parts.map(String).join(' ')); };
  let loaded: Uws;
  try {
    loaded = require('uWebSockets.js') as Uws;
  } finally {
    console.warn = originalWarn;
  }
  const nativeLoaded = Object.keys(require.cache).some((path) => path.endsWith(expectedBinary));
  if (!nativeLoaded) {
    throw new UwsNativeBindingError(
      `uWebSockets.js native binding ${expectedBinary} did not load on Node ${process.version}` +
      (warnings.length > 0 ? `: ${warnings.join(' ').slice(0, 500)}` : ''));
  }
  return loaded;
}
