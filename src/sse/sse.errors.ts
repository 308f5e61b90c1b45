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
