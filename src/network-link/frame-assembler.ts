import { Framing, INVALID_LENGTH } from './framing';

/** Why the assembler stopped for good: the stream can no longer be trusted to be in step. */
export type FrameFailure = 'none' | 'invalid_length' | 'frame_too_large';

/** Returned for a zero-length frame; shared because it carries no bytes. */
export const KEEP_ALIVE_FRAME: Buffer = Buffer.alloc(0);

const EMPTY_CHUNK: Buffer = Buffer.alloc(0);

/**
 * Cuts length-prefixed frames out of the bytes a socket delivers, however TCP split or merged them.
 *
 * Frames are returned as views into the socket's own chunks whenever a frame lies inside one chunk
 * (the common case), so nothing is copied. Node hands every read its own fresh buffer, so a view
 * stays valid after later reads and a decoded message may keep referring to it. Only a frame that
 * straddles chunks is copied, once, into a buffer of exactly its size.
 *
 * The caller pulls frames one at a time with nextFrame(), which lets it stop in the middle of a
 * chunk when its in-flight limit is reached and carry on later from the same place: the unread rest
 * of the chunk stays here, and the caller pauses the socket so no more arrives meanwhile.
 */
export class FrameAssembler {
  private readonly framing: Framing;
  private readonly maxBodyBytes: number;
  private chunk: Buffer = EMPTY_CHUNK;
  private chunkOffset = 0;
  /** Holds a length field that was split across reads; 4 bytes covers every framing. */
  private readonly lengthScratch: Buffer = Buffer.alloc(4);
  private lengthFilled = 0;
  /** A frame body that straddles reads, being filled. */
  private body: Buffer | null = null;
  private bodyFilled = 0;
  /** The length field that caused a failure, for the log line. */
  rejectedLength = 0;
  failure: FrameFailure = 'none';

  constructor(framing: Framing, maxBodyBytes: number) {
    this.framing = framing;
    this.maxBodyBytes = maxBodyBytes;
  }

  append(chunk: Buffer): void {
    if (this.chunkOffset < this.chunk.length) {
      // Only reachable if bytes arrive while the caller has paused the socket; rare, so a copy is fine.
      this.chunk = Buffer.concat([this.chunk.subarray(this.chunkOffset), chunk]);
    } else {
      this.chunk = chunk;
    }
    this.chunkOffset = 0;
  }

  /** True when appended bytes have not yet been turned into frames. */
  hasUnreadBytes(): boolean {
    return this.chunkOffset < this.chunk.length;
  }

  /** True when part of a frame (length field or body) has arrived and the rest has not. */
  isMidFrame(): boolean {
    return this.lengthFilled > 0 || this.body !== null;
  }

  /**
   * The next complete frame body (after the length field), KEEP_ALIVE_FRAME for a zero-length
   * frame, or undefined when more bytes are needed or the stream failed (see `failure`).
   */
  nextFrame(): Buffer | undefined {
    if (this.failure !== 'none') return undefined;
    if (this.body !== null) return this.continueBody();
    const length = this.readLengthField();
    if (length < 0) return undefined;
    if (length === 0) return KEEP_ALIVE_FRAME;
    const available = this.chunk.length - this.chunkOffset;
    if (available >= length) {
      const frame = this.chunk.subarray(this.chunkOffset, this.chunkOffset + length);
      this.advance(length);
      return frame;
    }
    this.body = Buffer.allocUnsafe(length);
    this.chunk.copy(this.body, 0, this.chunkOffset);
    this.bodyFilled = available;
    this.advance(available);
    return undefined;
  }

  /** Drops everything held; used when a connection closes so chunks can be collected. */
  reset(): void {
    this.chunk = EMPTY_CHUNK;
    this.chunkOffset = 0;
    this.lengthFilled = 0;
    this.body = null;
    this.bodyFilled = 0;
  }

  private continueBody(): Buffer | undefined {
    const body = this.body!;
    const take = Math.min(body.length - this.bodyFilled, this.chunk.length - this.chunkOffset);
    this.chunk.copy(body, this.bodyFilled, this.chunkOffset, this.chunkOffset + take);
    this.bodyFilled += take;
    this.advance(take);
    if (this.bodyFilled < body.length) return undefined;
    this.body = null;
    this.bodyFilled = 0;
    return body;
  }

  /** The validated body length, -1 when more bytes are needed, -2 on failure. */
  private readLengthField(): number {
    const fieldBytes = this.framing.lengthFieldBytes;
    const available = this.chunk.length - this.chunkOffset;
    let length: number;
    if (this.lengthFilled === 0 && available >= fieldBytes) {
      length = this.framing.readLength(this.chunk, this.chunkOffset);
      this.advance(fieldBytes);
    } else {
      if (available === 0) return -1;
      const take = Math.min(fieldBytes - this.lengthFilled, available);
      this.chunk.copy(this.lengthScratch, this.lengthFilled, this.chunkOffset, this.chunkOffset + take);
      this.lengthFilled += take;
      this.advance(take);
      if (this.lengthFilled < fieldBytes) return -1;
      this.lengthFilled = 0;
      length = this.framing.readLength(this.lengthScratch, 0);
    }
    if (length === INVALID_LENGTH) return this.fail('invalid_length', length);
    if (length > this.maxBodyBytes) return this.fail('frame_too_large', length);
    return length;
  }

  private fail(failure: FrameFailure, length: number): number {
    this.failure = failure;
    this.rejectedLength = length;
    this.reset();
    return -2;
  }

  private advance(bytes: number): void {
    this.chunkOffset += bytes;
    if (this.chunkOffset >= this.chunk.length) {
      // Release the chunk so a long-lived link does not pin the last read buffer.
      this.chunk = EMPTY_CHUNK;
      this.chunkOffset = 0;
    }
  }
}
