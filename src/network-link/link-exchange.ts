/**
 * The contract between a link and the acceptor: the link hands each financial request (0100, 0120,
 * 0400, ...) to a SchemeRequestHandler with a LinkExchange, and the handler answers through
 * exchange.respond() exactly once. Network management (0800/0810) stays inside the link.
 */
import type { Dialect, IsoMessage } from '../iso8583';

/** What a LinkExchange needs from the connection it came from. */
export interface ExchangeConnection {
  readonly linkName: string;
  readonly dialect: Dialect;
  readonly isOpen: boolean;
  completeExchange(exchange: LinkExchange, response: IsoMessage): void;
  countDuplicateRespond(): void;
}

/**
 * One request in flight. Allocated once per request (the only per-request object the link makes
 * beyond the decoded message), holding no closures.
 */
export class LinkExchange {
  readonly request: IsoMessage;
  /**
   * performance.now() (monotonic, milliseconds) when the socket read that completed the frame came
   * in. The scheme's response window runs from here, so a frame that waited inside the gateway to be
   * cut (reading paused at the in-flight limit) has that wait counted against its budget.
   */
  readonly arrivalMs: number;
  /** @internal the request's fixed header bytes (a copy), echoed on the response; null without. */
  readonly header: Buffer | null;
  private readonly connection: ExchangeConnection;
  private answered = false;

  constructor(connection: ExchangeConnection, request: IsoMessage, arrivalMs: number, header: Buffer | null) {
    this.connection = connection;
    this.request = request;
    this.arrivalMs = arrivalMs;
    this.header = header;
  }

  get linkName(): string {
    return this.connection.linkName;
  }

  get dialect(): Dialect {
    return this.connection.dialect;
  }

  /** True once respond() has been called. */
  get responded(): boolean {
    return this.answered;
  }

  /** False once the connection the request came on has closed; a response then goes nowhere. */
  get connectionOpen(): boolean {
    return this.connection.isOpen;
  }

  /**
   * Encodes and writes the response as one frame and frees the in-flight slot. A second call is
   * ignored and counted; a call after the connection closed is counted and dropped.
   */
  respond(response: IsoMessage): void {
    if (this.answered) {
      this.connection.countDuplicateRespond();
      return;
    }
    this.answered = true;
    this.connection.completeExchange(this, response);
  }
}

/** Implemented by the acceptor. Must not throw; if it does, the link answers DE 39 = 96. */
export interface SchemeRequestHandler {
  handleRequest(request: IsoMessage, exchange: LinkExchange): void;
}
