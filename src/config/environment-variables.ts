import { Expose, plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import {
  DurationMs,
  HOUR_MS,
  KafkaTopicNames,
  toBoolean,
  toInt,
  toList,
  toMilliseconds,
  toOrigins,
} from './setting-parsers';

export const AUTH_MODES = ['off', 'jwt'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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

  /**
   * Access control: `off` (anyone reads and publishes; the local default, with a warning) or `jwt`.
   * Must be set when NODE_ENV=production.
   */
  @Expose()
  @IsOptional()
  @IsIn(AUTH_MODES)
  AUTH_MODE?: AuthMode;

  /** AUTH_MODE=jwt: the HS256 secret (at least 32 characters). */
  @Expose()
  @IsOptional()
  @IsString()
  @MinLength(32)
  JWT_SECRET?: string;

  /** AUTH_MODE=jwt: where the RS256/ES256 public keys are (a JWKS document), instead of JWT_SECRET. */
  @Expose()
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  JWT_JWKS_URL?: string;

  /** AUTH_MODE=jwt: when set, tokens must carry this `iss` / this `aud`. */
  @Expose()
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @Expose()
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /**
   * AUTH_MODE=jwt: refuse tokens without `exp` (they would never expire). Defaults to true when
   * NODE_ENV=production, false otherwise.
   */
  @Expose()
  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean({ message: '$property must be true or false' })
  JWT_REQUIRE_EXP?: boolean;

  /**
   * Origins (`https://app.example`, comma-separated) whose pages may change state with the
   * `access_token` cookie, besides the service's own origin. Any other origin needs the token in a header.
   */
  @Expose()
  @Transform(toOrigins)
  @IsOptional()
  @Matches(/^https?:\/\/[^/?#]+$/, {
    each: true,
    message: '$property must be a comma-separated list of origins like https://app.example (no path)',
  })
  TRUSTED_ORIGINS?: string[];

  /**
   * Kafka bootstrap servers, `host:port[,host:port...]`. Set: Kafka is the message bus. Unset: the
   * in-memory bus, one process.
   */
  @Expose()
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]+:\d{1,5}(,[A-Za-z0-9._-]+:\d{1,5})*$/, {
    message: '$property must be a comma-separated list of host:port',
  })
  KAFKA_BROKERS?: string;

  /** Kafka client id, and the prefix of this service's consumer group ids. */
  @Expose()
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, { message: '$property must be 1-100 of A-Z a-z 0-9 . _ -' })
  KAFKA_CLIENT_ID: string = 'sse-gateway';

  /** How long a publish waits for Kafka's acknowledgement before answering 503, in ms. */
  @Expose()
  @DurationMs(100, 120_000)
  KAFKA_PUBLISH_TIMEOUT_MS: number = 5_000;

  /** Partitions and replication factor of the topics the service creates when they are missing. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  KAFKA_TOPIC_PARTITIONS: number = 1;

  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  KAFKA_REPLICATION_FACTOR: number = 1;

  /**
   * Kafka topics of other producers that clients may read (GET /kafka/<topic>/sse) and write
   * (POST /kafka/<topic>), comma-separated; none when unset. The service's own topics carry its
   * users' data and cannot be listed (start-up stops, naming the topic).
   */
  @Expose()
  @Transform(toList)
  @KafkaTopicNames()
  KAFKA_SSE_TOPICS: string[] = [];

  /** Streams of GET /kafka/<topic>/sse: keep-alive comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  KAFKA_SSE_KEEPALIVE_MS: number = 15_000;

  /**
   * PostgreSQL connection string (`postgres://user:pass@host:5432/db`). Set: reports live in
   * PostgreSQL. Unset: in an embedded PGlite database in DATA_DIR.
   */
  @Expose()
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: '$property must be a postgres:// connection string' })
  DATABASE_URL?: string;

  /** Folder of the embedded database (PGlite) when DATABASE_URL is unset; created when missing. */
  @Expose()
  @IsString()
  @MinLength(1)
  DATA_DIR: string = './data';

  /** Records each topic keeps in this process for resume with Last-Event-ID (both buses). */
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

  /** Deepest nesting of arrays and objects a JSON body may have; deeper bodies get 400. */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  BODY_JSON_MAX_DEPTH: number = 32;

  /**
   * How long a client may take to send its request headers, and its whole request (headers and
   * body), before the server closes the connection (408). Open streams are not affected: these
   * bound receiving a request, not how long its response lasts.
   */
  @Expose()
  @DurationMs(1_000, HOUR_MS)
  HTTP_HEADERS_TIMEOUT_MS: number = 10_000;

  @Expose()
  @DurationMs(1_000, HOUR_MS)
  HTTP_REQUEST_TIMEOUT_MS: number = 30_000;

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

  /** How long a client may take to read a replay of missed events before it is disconnected, in ms. */
  @Expose()
  @DurationMs(100, HOUR_MS)
  SSE_REPLAY_TIMEOUT_MS: number = 30_000;

  /**
   * Replays one user (a token's subject, AUTH_MODE=jwt) reads at once, over all its connections;
   * the others wait their turn.
   */
  @Expose()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SSE_MAX_REPLAYS_PER_USER: number = 4;

  /** The `retry:` hint sent at the start of every stream, in ms. */
  @Expose()
  @DurationMs(0, HOUR_MS)
  SSE_RETRY_MS: number = 2000;

  /** v1 heartbeat stream: `data: hi!` interval and keep-alive comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  HEARTBEAT_INTERVAL_MS: number = 15_000;

  @Expose()
  @DurationMs(10, HOUR_MS)
  HEARTBEAT_KEEPALIVE_MS: number = 3_000;

  /** v2 per-user message streams: keep-alive comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  EVENTS_KEEPALIVE_MS: number = 15_000;

  /**
   * Temperature streams: how long one connection lasts before the server closes it (the client
   * reconnects with Last-Event-ID). A number of seconds, or with a unit: `500ms`, `60s`, `2m`.
   */
  @Expose()
  @Transform(toMilliseconds)
  @IsInt({ message: '$property must be a duration: seconds, or a number with ms, s or m' })
  @Min(100, { message: '$property must be from 100ms to 24h' })
  @Max(24 * HOUR_MS, { message: '$property must be from 100ms to 24h' })
  MAX_SSE_CONNECTION_TIME: number = 60_000;

  /** Temperature streams: keep-alive comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  TEMPERATURE_KEEPALIVE_MS: number = 15_000;

  /** v4 report streams: keep-alive comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  REPORTS_KEEPALIVE_MS: number = 30_000;

  /** Broadcaster: ping comment interval, in ms. */
  @Expose()
  @DurationMs(10, HOUR_MS)
  BROADCAST_PING_MS: number = 10_000;

  /** How long SIGTERM waits for streams, outbox and producers before exiting anyway, in ms. */
  @Expose()
  @DurationMs(0, 10 * 60 * 1000)
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
  const problems = validateSync(config, { skipMissingProperties: false }).map(
    (error) =>
      `${error.property}=${JSON.stringify(present[error.property] ?? null)}: ${Object.values(error.constraints ?? {}).join('; ')}`,
  );
  problems.push(...crossChecks(config));
  if (problems.length > 0) {
    throw new ConfigValidationError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  config.JWT_REQUIRE_EXP ??= config.NODE_ENV === 'production';
  return config;
}

/** Rules between variables, named by the variable to set. */
function crossChecks(config: EnvironmentVariables): string[] {
  const problems: string[] = [];
  if (config.NODE_ENV === 'production' && config.AUTH_MODE === undefined) {
    problems.push(
      'AUTH_MODE=null: must be set when NODE_ENV=production (jwt; or off, to serve every stream to anyone)',
    );
  }
  if (config.AUTH_MODE === 'jwt' && !config.JWT_SECRET && !config.JWT_JWKS_URL) {
    problems.push('JWT_SECRET=null: AUTH_MODE=jwt needs JWT_SECRET (HS256) or JWT_JWKS_URL (RS256/ES256)');
  }
  if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS=${config.HTTP_HEADERS_TIMEOUT_MS}: must not be greater than HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  if (config.JWT_SECRET && config.JWT_JWKS_URL) {
    problems.push('JWT_JWKS_URL: set JWT_SECRET or JWT_JWKS_URL, not both');
  }
  return problems;
}
