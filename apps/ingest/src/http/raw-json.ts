import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes received: signatures are computed over these, never over re-serialised JSON. */
    rawBody?: Buffer;
  }
}

export class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * JSON bodies kept raw as well as parsed, and client mistakes answered with a 4xx that names the
 * problem — never a 500. Wrong content type is a 400 (not 415), as senders treat 4xx alike.
 */
export function rawJsonBodies(
  app: FastifyInstance,
  reply: (request: FastifyRequest, res: FastifyReply, error: ClientError) => FastifyReply,
): void {
  // Only JSON is accepted here, and only through this parser (Fastify's own would not keep the bytes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.-]+\+)?json\s*(;.*)?$/i, { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) return done(new ClientError(400, 'empty_body', 'the request body is empty'), undefined);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch (error) {
      done(new ClientError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, res) => {
    if (error instanceof ClientError) return reply(request, res, error);
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply(request, res, new ClientError(413, 'too_large', `the body is larger than ${app.initialConfig.bodyLimit} bytes`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply(
          request,
          res,
          new ClientError(
            400,
            'content_type',
            `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted; send application/json`,
          ),
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply(request, res, new ClientError(400, 'empty_body', 'the request body is empty'));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply(request, res, new ClientError(error.statusCode, 'bad_request', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return res.code(500).send({ error: 'internal error' });
  });
}
