import { Transform } from 'class-transformer';
import { IsInt, Max, Min, ValidateBy } from 'class-validator';

// How settings are read from environment strings: the transforms and checks the
// EnvironmentVariables schema puts on its fields.

export const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

export const toBoolean = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*(true|false|1|0)\s*$/i.test(value)
    ? /^\s*(true|1)\s*$/i.test(value)
    : value;

/** Origins compare without case and without a trailing slash. */
export const toOrigins = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value.split(',').map((item) => item.trim().toLowerCase().replace(/\/$/, ''))
    : value;

/** `a, b,a` to `['a', 'b']`: items trimmed, repeats dropped; an empty item is left to validation. */
export const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? [...new Set(value.split(',').map((item) => item.trim()))] : value;

/**
 * A name Kafka accepts for a topic (1-249 of A-Z a-z 0-9 . _ -, not `.` or `..`), and not one of
 * Kafka's own internal topics (`__consumer_offsets`, `__transaction_state`: they start with `__`).
 */
export const isKafkaTopicName = (name: unknown): name is string =>
  typeof name === 'string' &&
  /^[A-Za-z0-9._-]{1,249}$/.test(name) &&
  name !== '.' &&
  name !== '..' &&
  !name.startsWith('__');

/** A list of Kafka topic names; the message names the first one that is not. */
export const KafkaTopicNames = (): PropertyDecorator =>
  ValidateBy({
    name: 'kafkaTopicNames',
    validator: {
      validate: (value: unknown) => Array.isArray(value) && value.every(isKafkaTopicName),
      defaultMessage: (args) => {
        const bad: unknown = Array.isArray(args?.value)
          ? args.value.find((name) => !isKafkaTopicName(name))
          : args?.value;
        return `${JSON.stringify(bad)} is not a Kafka topic name this service streams: give comma-separated names of 1-249 of A-Z a-z 0-9 . _ - (not . or .., not Kafka's internal __ topics)`;
      },
    },
  });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `60`, `60s`, `500ms`, `2m` to milliseconds; anything else is left for validation to reject. */
export const toMilliseconds = ({ value }: { value: unknown }): unknown => {
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value) : null;
  return match ? Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 's']) : value;
};

/**
 * An interval or timeout in ms, bounded: Node's timers take at most 2^31-1 ms and fire after 1 ms
 * for anything larger, so an unbounded value would flood streams instead of waiting.
 */
export const DurationMs = (min: number, max: number): PropertyDecorator => {
  const range = { message: `$property must be an integer number of milliseconds from ${min} to ${max}` };
  const decorators = [Transform(toInt), IsInt(range), Min(min, range), Max(max, range)];
  return (target, key) => decorators.forEach((decorator) => decorator(target, key));
};

export const HOUR_MS = 60 * 60 * 1000;
