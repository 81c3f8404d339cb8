import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions as http, HTTPResponseAck, type App, type Receiver } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';

/** Slack's window: a signed request older (or, here, newer) than this is refused. */
export const SLACK_WINDOW_SECONDS = 300;

export interface SlackReceiverOptions {
  signingSecret: string;
  logger: SlackLogger;
  /** True the first time a signature is seen (shared by every copy of the service); false for a replay. */
  remember(signature: string, requestTs: number): Promise<boolean>;
  clock?: () => Date;
  path?: string;
}

/**
 * Bolt's HTTP receiver, served by the service's own Fastify server instead of a second port: the
 * same steps as Bolt's HTTPReceiver (Bolt's own functions read, verify and parse the request; Bolt's
 * HTTPResponseAck answers on `ack()`), plus what Bolt leaves to the app: a request signed for a
 * time too far ahead, or whose signature was already taken (a replay inside Slack's five-minute
 * window), is refused like a forged one — 401, empty body.
 */
export class FastifySlackReceiver implements Receiver {
  private app: App | undefined;
  private readonly log: SlackLogger;

  constructor(private readonly options: SlackReceiverOptions) {
    this.log = options.logger;
  }

  init(app: App): void {
    this.app = app;
  }

  // The Fastify server is started and stopped by the service, not by Bolt.
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** A Fastify plugin serving `POST /slack/events` (in its own scope: it keeps bodies as raw bytes). */
  readonly routes = async (app: FastifyInstance): Promise<void> => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      // The exact bytes: Slack signs the raw body, so nothing may parse it before Bolt verifies it.
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.post(this.options.path ?? '/slack/events', async (request, reply) => {
        const raw = request.raw as IncomingMessage & { rawBody?: Buffer };
        raw.rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        reply.hijack();
        await this.handle(raw, reply.raw);
      });
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let buffered: Awaited<ReturnType<typeof http.parseAndVerifyHTTPRequest>>;
    try {
      buffered = await http.parseAndVerifyHTTPRequest({ signingSecret: this.options.signingSecret, logger: this.log }, req);
    } catch (error) {
      this.log.warn(`Slack request refused: ${(error as Error).message}`);
      return http.buildNoBodyResponse(res, 401);
    }
    let body: Record<string, unknown>;
    try {
      body = http.parseHTTPRequestBody(buffered) as Record<string, unknown>;
    } catch (error) {
      this.log.warn(`Slack request body malformed: ${(error as Error).message}`);
      return http.buildNoBodyResponse(res, 400);
    }
    // Unsigned by design (Bolt strips everything else from it).
    if (body.ssl_check === '1') return http.buildSSLCheckResponse(res);

    const signature = String(req.headers['x-slack-signature']);
    const requestTs = Number(req.headers['x-slack-request-timestamp']);
    const nowSeconds = Math.floor((this.options.clock?.() ?? new Date()).getTime() / 1000);
    if (requestTs > nowSeconds + SLACK_WINDOW_SECONDS) {
      this.log.warn('Slack request refused: x-slack-request-timestamp is in the future');
      return http.buildNoBodyResponse(res, 401);
    }
    let fresh: boolean;
    try {
      fresh = await this.options.remember(signature, requestTs);
    } catch (error) {
      // Cannot tell a replay from a first delivery: refuse with a retryable status.
      this.log.error(`Slack request not checked for replay: ${(error as Error).message}`);
      return http.buildNoBodyResponse(res, 503);
    }
    if (!fresh) {
      this.log.warn('Slack request refused: replayed (its signature was already taken)');
      return http.buildNoBodyResponse(res, 401);
    }
    if (body.type === 'url_verification') return http.buildUrlVerificationResponse(res, body);

    const ack = new HTTPResponseAck({
      logger: this.log,
      processBeforeResponse: false,
      httpRequest: buffered,
      httpRequestBody: body,
      httpResponse: res,
    });
    const retryNum = http.extractRetryNumFromHTTPRequest(req);
    const retryReason = http.extractRetryReasonFromHTTPRequest(req);
    try {
      await this.app?.processEvent({
        body,
        ack: ack.bind(),
        ...(retryNum === undefined ? {} : { retryNum }),
        ...(retryReason === undefined ? {} : { retryReason }),
      });
    } catch (error) {
      const handled = await http.defaultProcessEventErrorHandler({
        error: error as Error,
        logger: this.log,
        request: req,
        response: res,
        storedResponse: ack.storedResponse,
      });
      if (handled) ack.ack();
    }
  }
}
