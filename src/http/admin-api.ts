/**
 * The admin API (/v1), documented in docs/openapi.yaml: accounts, cards, an HTTP form of an
 * authorisation, and recent decisions. Every route needs `Authorization: Bearer <token>` with the
 * token from GATEWAY_ADMIN_TOKEN; with no token configured every /v1 call is refused (401), so a
 * gateway started without one exposes nothing. Bad input is 400 naming the field; unknown ids 404.
 *
 * POST /v1/authorise runs through the acceptor exactly as a link frame does (routing, deadline,
 * stand-in, metrics): the HTTP request is wrapped as a link exchange whose "connection" writes the
 * ISO 8583 response back as JSON.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { IsoMessage, type Dialect } from '../iso8583';
import { LinkExchange, type SchemeRequestHandler } from '../network-link/link-exchange';
import type { ExchangeConnection } from '../network-link/link-exchange';
import type { CardDirectory } from '../authorise/card-directory';
import type { DecisionLog, DecisionRecord } from '../authorise/decision-log';
import type { Ledger } from '../authorise/ledger';
import type { ShardDirectory } from '../authorise/shard-directory';
import type { PanHasher } from '../authorise/pan-protection';
import { maskPan } from '../authorise/pan-protection';
import type { Card } from '../authorise/types';
import type { CardDefaults } from '../config/schema';
import type { Logger } from '../log/logger';
import { sendJson, trackAborted } from './http-server';
import {
  ID_PATTERN, InvalidField, parseAccountBody, parseAmountBody, parseAuthoriseBody, parseCardBody, parseCardPatch,
  type AuthoriseBody,
} from './admin-validation';

/** Admin bodies are small JSON documents; anything larger is refused before parsing. */
const MAX_BODY_BYTES = 64 * 1024;

export interface AdminApiDependencies {
  adminToken: string | undefined;
  cards: CardDirectory;
  ledger: Ledger;
  shards: ShardDirectory;
  decisions: DecisionLog;
  panHasher: PanHasher;
  cardDefaults: CardDefaults;
  acceptor: SchemeRequestHandler;
  /** Dialect the JSON authorisation is built in (any dialect works: the message never hits a wire). */
  dialect: Dialect;
  logger: Logger;
}

class HttpError {
  constructor(readonly status: string, readonly body: Record<string, unknown>) {}
}

const badRequest = (invalid: InvalidField): HttpError =>
  new HttpError('400 Bad Request', { error: 'invalid request', field: invalid.field, reason: invalid.reason });
const notFound = (what: string): HttpError => new HttpError('404 Not Found', { error: `${what} not found` });
const unavailable = (): HttpError =>
  new HttpError('503 Service Unavailable', { error: 'the account shard has no live owner; retry' });

export function publicCard(card: Card): Record<string, unknown> {
  return {
    cardId: card.cardId, panMasked: card.panMasked, expiry: card.expiry, accountId: card.accountId,
    status: card.status, controls: card.controls, limits: card.limits,
  };
}

function publicDecision(record: DecisionRecord): Record<string, unknown> {
  return {
    decisionId: record.decisionId, kind: record.kind, mti: record.mti, panMasked: record.panMasked,
    responseCode: record.responseCode, approvalCode: record.approvalCode, requestedMinor: record.requestedMinor,
    approvedMinor: record.approvedMinor, currency: record.currency, holdId: record.holdId, stan: record.stan,
    rrn: record.rrn, standIn: record.standIn, overdrawn: record.overdrawn,
    decidedAt: new Date(record.decidedAtMs).toISOString(),
  };
}

export function mountAdminApi(app: TemplatedApp, deps: AdminApiDependencies): void {
  const expectedToken = deps.adminToken === undefined || deps.adminToken === ''
    ? undefined : Buffer.from(`Bearer ${deps.adminToken}`);

  function authorised(req: HttpRequest): boolean {
    if (expectedToken === undefined) return false;
    const presented = Buffer.from(req.getHeader('authorization'));
    return presented.length === expectedToken.length && timingSafeEqual(presented, expectedToken);
  }

  type Handler = (params: string[], body: unknown, query: URLSearchParams, res: HttpResponse) =>
    Promise<[string, unknown] | undefined>;

  function route(method: 'get' | 'put' | 'post' | 'patch', pattern: string, parameterCount: number,
    handler: Handler): void {
    app[method](pattern, (res, req) => {
      const state = trackAborted(res);
      if (!authorised(req)) {
        sendJson(res, '401 Unauthorized', { error: 'bearer token required' });
        return;
      }
      const params: string[] = [];
      for (let i = 0; i < parameterCount; i++) params.push(decodeURIComponent(req.getParameter(i)));
      const query = new URLSearchParams(req.getQuery() ?? '');
      const run = (body: unknown): void => {
        handler(params, body, query, res).then(
          (result) => {
            if (result !== undefined && !state.aborted) sendJson(res, result[0], result[1]);
          },
          (error: unknown) => {
            if (state.aborted) return;
            if (error instanceof HttpError) {
              sendJson(res, error.status, error.body);
              return;
            }
            deps.logger.error({ err: error, route: pattern }, 'admin API request failed');
            sendJson(res, '500 Internal Server Error', { error: 'internal error' });
          },
        );
      };
      if (method === 'get') {
        run(undefined);
        return;
      }
      readJsonBody(res, state, run);
    });
  }

  function shardToken(accountId: string): [number, number] {
    const shard = deps.shards.shardOf(accountId);
    const token = deps.shards.currentToken(shard);
    if (token === undefined) throw unavailable();
    return [shard, token];
  }

  function checkId(value: string, field: string): void {
    if (!ID_PATTERN.test(value)) throw badRequest(new InvalidField(field, 'must be 1-64 letters, digits or ._:-'));
  }

  route('put', '/v1/accounts/:accountId', 1, async ([accountId], body) => {
    checkId(accountId!, 'accountId');
    const parsed = parseAccountBody(body);
    if (parsed instanceof InvalidField) throw badRequest(parsed);
    const [shard, token] = shardToken(accountId!);
    await deps.ledger.putAccount({ accountId: accountId!, ...parsed }, shard, token);
    return ['200 OK', await deps.ledger.getAccount(accountId!)];
  });

  route('get', '/v1/accounts/:accountId', 1, async ([accountId]) => {
    const view = await deps.ledger.getAccount(accountId!);
    if (view === undefined) throw notFound('account');
    return ['200 OK', view];
  });

  for (const direction of ['credit', 'debit'] as const) {
    route('post', `/v1/accounts/:accountId/${direction}`, 1, async ([accountId], body) => {
      const parsed = parseAmountBody(body, direction === 'debit');
      if (parsed instanceof InvalidField) throw badRequest(parsed);
      const [shard, token] = shardToken(accountId!);
      const key = parsed.idempotencyKey ?? `${direction}:${randomUUID()}`;
      const view = direction === 'credit'
        ? await deps.ledger.credit(accountId!, parsed.amountMinor, key, shard, token)
        : await deps.ledger.debit(accountId!, parsed.amountMinor, parsed.holdId, key, shard, token);
      if (view === undefined) throw notFound(parsed.holdId !== undefined ? 'account or hold' : 'account');
      return ['200 OK', view];
    });
  }

  route('put', '/v1/cards', 0, async (_params, body) => {
    const parsed = parseCardBody(body, deps.cardDefaults, false);
    if (parsed instanceof InvalidField) throw badRequest(parsed);
    const card = await putCard(deps, parsed.pan, { ...parsed, cardId: undefined });
    return ['200 OK', { cardId: card.cardId }];
  });

  route('patch', '/v1/cards/:cardId', 1, async ([cardId], body) => {
    const patch = parseCardPatch(body);
    if (patch instanceof InvalidField) throw badRequest(patch);
    const card = await deps.cards.patch(cardId!, patch);
    if (card === undefined) throw notFound('card');
    return ['200 OK', publicCard(card)];
  });

  route('get', '/v1/cards/:cardId', 1, async ([cardId]) => {
    const card = await deps.cards.getById(cardId!);
    if (card === undefined) throw notFound('card');
    return ['200 OK', publicCard(card)];
  });

  route('get', '/v1/decisions', 0, async (_params, _body, query) => {
    const cardId = query.get('cardId') ?? '';
    if (!ID_PATTERN.test(cardId)) throw badRequest(new InvalidField('cardId', 'required: a card id'));
    const limitText = query.get('limit') ?? '20';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw badRequest(new InvalidField('limit', 'must be an integer from 1 to 500'));
    }
    if (await deps.cards.getById(cardId) === undefined) throw notFound('card');
    const records = await deps.decisions.recentForCard(cardId, limit);
    return ['200 OK', { cardId, decisions: records.map(publicDecision) }];
  });

  route('post', '/v1/authorise', 0, async (_params, body, _query, res) => {
    const parsed = parseAuthoriseBody(body);
    if (parsed instanceof InvalidField) throw badRequest(parsed);
    const message = isoMessageFor(parsed);
    const connection = new HttpExchangeConnection(res, deps.dialect);
    deps.acceptor.handleRequest(message, new LinkExchange(connection, message, performance.now(), null));
    return undefined;
  });
}

/** Creates or replaces the card with this PAN; the PAN leaves this function only as hash and mask. */
export async function putCard(deps: { cards: CardDirectory; panHasher: PanHasher }, pan: string,
  fields: Omit<Card, 'panHash' | 'panMasked' | 'cardId'> & { cardId: string | undefined }): Promise<Card> {
  const panHash = deps.panHasher.hash(pan);
  const existing = deps.cards.cached(panHash) ?? await deps.cards.load(panHash);
  // Named fields only: a caller's object may still carry the clear PAN, which must not be stored.
  const card: Card = {
    cardId: fields.cardId ?? existing?.cardId ?? `card-${randomUUID()}`, panHash, panMasked: maskPan(pan),
    expiry: fields.expiry, accountId: fields.accountId, status: fields.status, controls: fields.controls,
    limits: fields.limits,
  };
  return deps.cards.put(card);
}

function isoMessageFor(body: AuthoriseBody): IsoMessage {
  const message = new IsoMessage(body.mti);
  message.set(2, body.pan).set(3, body.processingCode).set(4, String(body.amountMinor).padStart(12, '0'))
    .set(7, body.transmissionDateTime).set(11, body.stan).set(32, body.acquirerId).set(37, body.rrn)
    .set(49, body.currency);
  if (body.expiry !== undefined) message.set(14, body.expiry);
  if (body.mcc !== undefined) message.set(18, body.mcc);
  if (body.merchantCountry !== undefined) message.set(19, body.merchantCountry);
  if (body.posEntryMode !== undefined) message.set(22, body.posEntryMode);
  if (body.terminalId !== undefined) message.set(41, body.terminalId);
  if (body.partialApprovalSupported) message.set(48, 'R61051    ');
  if (body.originalDataElements !== undefined) message.set(90, body.originalDataElements);
  return message;
}

/** The "connection" of an HTTP authorisation: writes the single response as JSON. */
class HttpExchangeConnection implements ExchangeConnection {
  readonly linkName = 'http';
  private readonly state: { aborted: boolean };

  constructor(private readonly res: HttpResponse, readonly dialect: Dialect) {
    this.state = { aborted: false };
    res.onAborted(() => { this.state.aborted = true; });
  }

  get isOpen(): boolean {
    return !this.state.aborted;
  }

  completeExchange(_exchange: LinkExchange, response: IsoMessage): void {
    if (this.state.aborted) return;
    const body: Record<string, unknown> = {
      mti: response.mti, responseCode: response.getString(39) ?? '', approvalCode: response.getString(38) ?? '',
      stan: response.getString(11) ?? '', rrn: response.getString(37) ?? '',
      amountMinor: Number(response.getString(4) ?? '0'),
    };
    sendJson(this.res, '200 OK', body);
  }

  countDuplicateRespond(): void {}
}

function readJsonBody(res: HttpResponse, state: { aborted: boolean }, onBody: (body: unknown) => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  res.onData((chunk, isLast) => {
    if (refused || state.aborted) return;
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      refused = true;
      sendJson(res, '413 Payload Too Large', { error: `body larger than ${MAX_BODY_BYTES} bytes` });
      return;
    }
    // uWS reuses the chunk's memory after this callback returns: copy it.
    chunks.push(Buffer.from(Buffer.from(chunk)));
    if (!isLast) return;
    const text = Buffer.concat(chunks, size).toString('utf8');
    chunks = [];
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      sendJson(res, '400 Bad Request', { error: 'invalid request', field: 'body', reason: 'not valid JSON' });
      return;
    }
    onBody(body);
  });
}
