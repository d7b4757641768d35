/**
 * Public API of the gateway's ISO 8583:1987 codec. Other modules import from here only.
 * Design and dialect format: docs/codec.md.
 */
export type {
  Dialect,
  FieldSpec,
  ContentClass,
  DataEncodingName,
  PrefixEncodingName,
  MtiEncodingName,
  BitmapEncodingName,
  PositionalSubfield,
} from './dialect-types';
export { loadDialect, compileDialect, defaultDialectDir } from './dialect';
export { IsoMessage, presenceMask } from './message';
export { decode, peekMtiAndStan } from './decode';
export { encode, encodeInto, encodedLength } from './encode';
export { describeMasked, maskPan } from './mask';
export {
  Iso8583DecodeError,
  Iso8583EncodeError,
  DialectError,
  type Iso8583DecodeErrorCode,
  type Iso8583EncodeErrorCode,
} from './errors';
export { parseEmvTlv, encodeEmvTlv, type EmvTlvElement } from './emv-tlv';
export {
  parseMastercardDe48,
  encodeMastercardDe48,
  type MastercardDe48,
  type De48Subelement,
} from './mastercard-de48';
export {
  parseOriginalDataElements,
  encodeOriginalDataElements,
  type OriginalDataElements,
  readSubfields,
  writeSubfields,
} from './positional';
export { NETWORK_MANAGEMENT_FIELDS } from './network-management';
