/** The transport cannot take a publish now (Kafka unreachable, no acknowledgement in time): 503. */
export class BusUnavailableError extends Error {
  constructor(
    message: string,
    /** Seconds a client should wait before trying again. */
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
  }
}

/** A publish to a topic that no feature declared: a programming error, caught in tests. */
export class UndeclaredTopicError extends Error {
  constructor(topic: string) {
    super(`Topic ${topic} was not declared with MessageBus.declareTopic()`);
  }
}
