import { json, RequestHandler, text } from 'express';
import { isUtf8 } from 'node:buffer';
import { IncomingMessage } from 'node:http';
import { jsonDepthLimit } from './json-depth';

type BodyKind = 'json' | 'text';

/**
 * Bodies are parsed here instead of by Nest's defaults: a form body (what `curl -d` sends) is kept
 * as raw text, since publishes take the body itself as the message, byte for byte; parsing it as
 * a form would turn "+" into spaces and split at "&". JSON stays JSON, nested at most `maxJsonDepth`
 * levels (deeper gets 400). Larger bodies get 413. A UTF-8 body (the default charset, and JSON's) that
 * is not valid UTF-8 gets 400: decoded, its bad bytes would become U+FFFD, and the message stored
 * would not be the one sent. Other media types are left unread.
 *
 * One handler reads the media type once and hands the request to the one parser it needs: chained,
 * each parser (and the router and Nest around each) looked at every request again, a sixth of a
 * publish's CPU.
 */
export function bodyParser(limitBytes: number, maxJsonDepth: number): RequestHandler {
  const parseJson = json({ limit: limitBytes, type: () => true, verify: checkUtf8 });
  const checkDepth = jsonDepthLimit(maxJsonDepth);
  const parseText = text({ limit: limitBytes, type: () => true, defaultCharset: 'utf-8', verify: checkUtf8 });
  // (a request without a body goes through the parser untouched: it checks that first)
  return (request, response, next) => {
    switch (bodyKindOf(request.headers['content-type'])) {
      case 'json':
        parseJson(request, response, (error?: unknown) => {
          if (error !== undefined && error !== null) {
            next(error);
          } else {
            checkDepth(request, response, next);
          }
        });
        return;
      case 'text':
        parseText(request, response, next);
        return;
      case null:
        next();
    }
  };
}

/** The parsers' check of the raw bytes, before they are decoded; an error thrown is the answer. */
function checkUtf8(_request: unknown, _response: unknown, body: Buffer, charset: string): void {
  if (/^utf-?8$/i.test(charset) && !isUtf8(body)) {
    throw Object.assign(
      new Error(
        `The body is not valid UTF-8 (Content-Type charset ${charset}); send UTF-8 text, or name the body's charset in Content-Type`,
      ),
      { status: 400 },
    );
  }
}

/** application/json is JSON; text/* and application/x-www-form-urlencoded are text; case-insensitive. */
export function bodyKindOf(contentType: string | undefined): BodyKind | null {
  if (contentType === undefined) {
    return null;
  }
  const end = contentType.indexOf(';');
  const type = (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
  if (type === 'application/json') {
    return 'json';
  }
  if (type === 'application/x-www-form-urlencoded') {
    return 'text';
  }
  const subtype = type.startsWith('text/') ? type.slice(5) : '';
  return subtype.length > 0 && /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(subtype) ? 'text' : null;
}

/**
 * Whether the request carries a body that no parser read (its media type is not one of ours): a
 * Content-Length above 0, or a chunked body, which has none.
 */
export function hasUnreadBody(request: IncomingMessage & { body?: unknown }): boolean {
  return (
    request.body === undefined &&
    (Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined)
  );
}
