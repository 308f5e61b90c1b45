import { Logger } from '@nestjs/common';
import { logCreator, logLevel } from 'kafkajs';

/**
 * kafkajs logs through the service's logger (JSON, with the rest) instead of its own console
 * output. Its errors while a broker is away are retried by the client and reported by the bus, so
 * they are warnings here; the bus says once, in its own words, when Kafka goes and comes back.
 */
export const kafkajsLogCreator: logCreator = () => {
  const logger = new Logger('kafkajs');
  return ({ level, log }) => {
    const { message, broker, error, groupId } = log as { message: string } & Record<string, unknown>;
    const line = `${message} ${JSON.stringify({ broker, error, groupId })}`;
    if (level === logLevel.ERROR || level === logLevel.WARN) {
      logger.warn(line);
    } else if (level === logLevel.INFO) {
      logger.log(line);
    } else {
      logger.debug(line);
    }
  };
};
