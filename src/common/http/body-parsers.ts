import { json, RequestHandler, text } from 'express';
import { jsonDepthLimit } from './json-depth';

/**
 * Bodies are parsed here instead of by Nest's defaults: a form body (what `curl -d` sends) is kept
 * as raw text, since publishes take the body itself as the message, byte for byte; parsing it as
 * a form would turn "+" into spaces and split at "&". JSON stays JSON, nested at most `maxJsonDepth`
 * levels (deeper gets 400). Larger bodies get 413.
 */
export function bodyParsers(limitBytes: number, maxJsonDepth: number): RequestHandler[] {
  return [
    json({ limit: limitBytes }),
    jsonDepthLimit(maxJsonDepth),
    text({
      limit: limitBytes,
      type: ['text/*', 'application/x-www-form-urlencoded'],
      defaultCharset: 'utf-8',
    }),
  ];
}
