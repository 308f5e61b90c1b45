/** This process holds as many streams as it may (SSE_MAX_CONNECTIONS): 503, try another instance. */
export class ConnectionLimitError extends Error {
  constructor(readonly limit: number) {
    super(`This server holds its maximum of ${limit} streams; retry later or on another instance`);
  }
}

/** One user holds as many streams as they may (SSE_MAX_CONNECTIONS_PER_USER): 429. */
export class UserConnectionLimitError extends Error {
  constructor(readonly limit: number) {
    super(`This user already holds the maximum of ${limit} open streams; close one first`);
  }
}

/** The server is shutting down and takes no new streams: 503. */
export class ServerDrainingError extends Error {
  constructor() {
    super('The server is shutting down; reconnect to another instance');
  }
}

/**
 * A stream's source holds more for a client than the buffer bound allows (SSE_MAX_BUFFER_BYTES):
 * emitted as its Observable's error, the connection is dropped as a slow reader.
 */
export class SlowReaderError extends Error {}

/**
 * An event whose bytes exceed what a stream may hold for one client (SSE_MAX_BUFFER_BYTES): 413.
 * `field` names where in a request body the message was, when it is one of several.
 */
export class EventTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    readonly field?: string,
  ) {
    super(
      `${field === undefined ? '' : `${field}: `}The message would take ${bytes} bytes as a server-sent event (each line of it is one data: line), ` +
        `over the ${limit} bytes a stream may hold for one client (SSE_MAX_BUFFER_BYTES); ` +
        'send a shorter message or fewer line breaks',
    );
  }
}
