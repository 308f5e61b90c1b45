import { Expose, plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, validateSync } from 'class-validator';

// Kafka joins this list with its transport (issue 3); an unknown value stops start-up.
export const BUS_KINDS = ['memory'] as const;
export type BusKind = (typeof BUS_KINDS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

/**
 * Every variable the service reads, with its default. Validated once at start-up; a bad value
 * stops the process with a message that names the variable.
 */
export class EnvironmentVariables {
  @Expose()
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: string = 'development';

  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  /** Interface to listen on; all of them (IPv6 and IPv4) when unset. */
  @Expose()
  @IsOptional()
  @IsString()
  @MinLength(1)
  HOST?: string;

  @Expose()
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** Which MessageBus implementation runs: the in-memory default, or Kafka. */
  @Expose()
  @IsIn(BUS_KINDS)
  MESSAGE_BUS: BusKind = 'memory';

  /** Records each in-memory topic keeps for resume with Last-Event-ID. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  BUS_HISTORY_SIZE: number = 10_000;

  /**
   * Message text each in-memory topic keeps for resume, in characters (about bytes): whichever of
   * this and BUS_HISTORY_SIZE is reached first drops the oldest records.
   */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  BUS_HISTORY_BYTES: number = 16 * 1024 * 1024;

  /** Largest accepted request body, in bytes; bigger bodies get 413. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  BODY_LIMIT_BYTES: number = 64 * 1024;

  /** Open SSE connections this process accepts before answering 503. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_MAX_CONNECTIONS: number = 15_000;

  /** Open SSE connections one user may hold before answering 429. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_MAX_CONNECTIONS_PER_USER: number = 10;

  /** Bytes that may wait for one slow reader before it is disconnected. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  SSE_MAX_BUFFER_BYTES: number = 256 * 1024;

  /** The `retry:` hint sent at the start of every stream, in ms. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SSE_RETRY_MS: number = 2000;

  /** v1 heartbeat stream: `data: hi!` interval and keep-alive comment interval, in ms. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  HEARTBEAT_INTERVAL_MS: number = 15_000;

  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  HEARTBEAT_KEEPALIVE_MS: number = 3_000;

  /** v2 per-user message streams: keep-alive comment interval, in ms. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  EVENTS_KEEPALIVE_MS: number = 15_000;

  /** Broadcaster: ping comment interval, in ms. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  BROADCAST_PING_MS: number = 10_000;

  /** How long SIGTERM waits for streams, outbox and producers before exiting anyway, in ms. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SHUTDOWN_TIMEOUT_MS: number = 10_000;
}

export class ConfigValidationError extends Error {}

/** Reads and validates configuration from an environment-like record. */
export function loadConfig(env: Record<string, string | undefined>): EnvironmentVariables {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const config = plainToInstance(EnvironmentVariables, present, {
    excludeExtraneousValues: true,
    exposeDefaultValues: true,
  });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length > 0) {
    const details = errors
      .map((error) => {
        const value = JSON.stringify(present[error.property] ?? null);
        return `${error.property}=${value}: ${Object.values(error.constraints ?? {}).join('; ')}`;
      })
      .join('\n  ');
    throw new ConfigValidationError(`Invalid configuration:\n  ${details}`);
  }
  return config;
}
