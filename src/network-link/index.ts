/**
 * Public API of the network link: TCP/TLS links that carry ISO 8583 between the card scheme and
 * the gateway. Design, framings and config reference: docs/network-link.md.
 */
export {
  linkConfigDefaults,
  tlsConfigDefaults,
  validateLinkConfig,
  validateLinkConfigs,
  LinkConfigError,
  type LinkConfig,
  type LinkMode,
  type LinkTlsConfig,
  type TlsVersion,
} from './config';
export { FRAMING_KINDS, framingFor, type Framing, type FramingKind } from './framing';
export { FrameAssembler, KEEP_ALIVE_FRAME } from './frame-assembler';
export { LinkExchange, type SchemeRequestHandler } from './link-exchange';
export { startLinks, LinkSupervisor, type LinkDependencies } from './supervisor';
export type { LinkState, LinkStatus } from './link-base';
export { isNetworkManagementMti, isResponseMti, responseMtiFor } from './message-types';
export {
  RESPONSE_APPROVED,
  RESPONSE_FORMAT_ERROR,
  RESPONSE_ISSUER_UNAVAILABLE,
  RESPONSE_SYSTEM_MALFUNCTION,
  SIGN_ON,
  SIGN_OFF,
  ECHO_TEST,
} from './network-management';
export { reconnectDelayMs } from './client-link';
