/**
 * Text from bytes through the native methods behind buf.toString('latin1' | 'hex', start, end).
 *
 * Buffer#toString is shared JavaScript in Node's core: it looks the encoding up on every call, and
 * its type feedback is shared with every other caller in the process. In the codec benchmark, a
 * second ISO 8583 library calling toString with other encodings made our calls about 10% slower.
 * Calling the native slice methods directly skips that dispatch. They are not in Node's typings
 * but have been on Buffer.prototype since Node 0.x; if a Node without them ever appears, the
 * toString path is used instead.
 */
interface NativeSlices {
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const prototype = Buffer.prototype as unknown as Partial<NativeSlices>;
const HAS_NATIVE_SLICES = typeof prototype.latin1Slice === 'function' &&
  typeof prototype.hexSlice === 'function';

export function latin1Text(bytes: Buffer, start: number, end: number): string {
  return HAS_NATIVE_SLICES
    ? (bytes as unknown as NativeSlices).latin1Slice(start, end)
    : bytes.toString('latin1', start, end);
}

/** Lower-case hex, as buf.toString('hex', start, end). */
export function hexText(bytes: Buffer, start: number, end: number): string {
  return HAS_NATIVE_SLICES
    ? (bytes as unknown as NativeSlices).hexSlice(start, end)
    : bytes.toString('hex', start, end);
}
