import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';

const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A caller's X-Request-Id when it is safe to echo, else a new one; sent back on the response. */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const given = request.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
  if (!response.headersSent) {
    response.setHeader('X-Request-Id', id);
  }
  return id;
}

/** The request's id: the one it was given already (by the request log or the SSE layer), else a new one. */
export function requestIdOf(request: IncomingMessage & { id?: unknown }, response: ServerResponse): string {
  const id = request.id;
  if (typeof id === 'string' || typeof id === 'number') {
    return String(id);
  }
  const assigned = assignRequestId(request, response);
  request.id = assigned;
  return assigned;
}
