/**
 * What the gateway refused, or a fault the client gave up on: the HTTP status (0 when no answer
 * came), the server's own message, and the stream it concerns (undefined for a publish or a
 * fault of the whole connection).
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly stream?: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** The `message` of a gateway error body (`{"statusCode","message",...}`), or the text as it is. */
export function serverMessage(body: string, status: number): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    const message = parsed.message;
    if (typeof message === 'string') {
      return message;
    }
    if (Array.isArray(message)) {
      return message.map(String).join('; ');
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return body.trim() === '' ? `HTTP ${status}` : body.trim();
}
