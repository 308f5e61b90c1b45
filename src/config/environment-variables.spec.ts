import { ConfigValidationError, loadConfig } from './environment-variables';

describe(loadConfig.name, () => {
  const sut = loadConfig;
  it('runs with no configuration at all: port 3000, in-memory bus', () => {
    const config = sut({});
    expect(config).toMatchObject({
      PORT: 3000,
      MAX_SSE_CONNECTION_TIME: 60_000,
      HEARTBEAT_INTERVAL_MS: 15_000,
      HEARTBEAT_KEEPALIVE_MS: 3_000,
    });
    expect(config.HOST).toBeUndefined();
    expect(config.KAFKA_BROKERS).toBeUndefined();
  });

  it.each([
    ['90', 90_000],
    ['60s', 60_000],
    ['1500ms', 1_500],
    ['2m', 120_000],
    ['0.5s', 500],
  ])('reads MAX_SSE_CONNECTION_TIME=%s as %d ms', (value, ms) => {
    expect(sut({ MAX_SSE_CONNECTION_TIME: value }).MAX_SSE_CONNECTION_TIME).toBe(ms);
  });

  it('takes a list of Kafka brokers', () => {
    expect(sut({ KAFKA_BROKERS: '127.0.0.1:9092,kafka-2:19092' }).KAFKA_BROKERS).toBe(
      '127.0.0.1:9092,kafka-2:19092',
    );
  });

  it('exposes no Kafka topic to clients unless KAFKA_SSE_TOPICS names it', () => {
    expect(sut({}).KAFKA_SSE_TOPICS).toEqual([]);
    expect(sut({ KAFKA_SSE_TOPICS: '' }).KAFKA_SSE_TOPICS).toEqual([]);
    expect(sut({ KAFKA_SSE_TOPICS: 'clicks, sensors.raw,clicks,page_views-2' }).KAFKA_SSE_TOPICS).toEqual([
      'clicks',
      'sensors.raw',
      'page_views-2',
    ]);
    expect(sut({ KAFKA_SSE_TOPICS: 'a'.repeat(249) }).KAFKA_SSE_TOPICS).toEqual(['a'.repeat(249)]);
  });

  it.each([
    ['clicks,bad topic', '"bad topic"'],
    ['clicks,,views', '""'],
    ['clicks/2', '"clicks/2"'],
    ['..', '".."'],
    ['.', '"."'],
    ['__consumer_offsets', '"__consumer_offsets"'],
    ['é-topic', '"é-topic"'],
    ['a'.repeat(250), `"${'a'.repeat(250)}"`],
  ])('refuses KAFKA_SSE_TOPICS=%s, naming the bad topic', (value, named) => {
    let error: unknown;
    try {
      sut({ KAFKA_SSE_TOPICS: value });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain(`KAFKA_SSE_TOPICS=${JSON.stringify(value)}`);
    expect((error as Error).message).toContain(`${named} is not a Kafka topic name`);
  });

  it('reads numbers from strings and ignores unrelated and empty variables', () => {
    const config = sut({ PORT: '8080', SSE_MAX_CONNECTIONS: '', HOME: '/root' });
    expect(config.PORT).toBe(8080);
    expect(config.SSE_MAX_CONNECTIONS).toBe(15_000);
    expect(config).not.toHaveProperty('HOME');
  });

  it.each([
    ['PORT', '80a'],
    ['PORT', '70000'],
    ['SSE_MAX_CONNECTIONS', '0'],
    ['KAFKA_BROKERS', 'localhost'],
    ['KAFKA_BROKERS', 'a:1,,b:2'],
    ['MAX_SSE_CONNECTION_TIME', '60 seconds'],
    ['MAX_SSE_CONNECTION_TIME', '10ms'],
    ['SSE_RETRY_MS', '1.5'],
  ])('stops on %s=%s, naming the variable and the value', (name, value) => {
    expect(() => sut({ [name]: value })).toThrow(ConfigValidationError);
    expect(() => sut({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}`);
  });

  it.each([
    'HEARTBEAT_INTERVAL_MS',
    'HEARTBEAT_KEEPALIVE_MS',
    'EVENTS_KEEPALIVE_MS',
    'TEMPERATURE_KEEPALIVE_MS',
    'REPORTS_KEEPALIVE_MS',
    'BROADCAST_PING_MS',
    'SSE_RETRY_MS',
    'KAFKA_PUBLISH_TIMEOUT_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'HTTP_HEADERS_TIMEOUT_MS',
    'HTTP_REQUEST_TIMEOUT_MS',
  ])('stops on %s=2147483648 (a timer would fire after 1 ms), naming the variable and its range', (name) => {
    expect(() => sut({ [name]: '2147483648' })).toThrow(
      new RegExp(`${name}="2147483648": ${name} must be an integer number of milliseconds from \\d+ to \\d+`),
    );
  });

  it('names the range of MAX_SSE_CONNECTION_TIME', () => {
    expect(() => sut({ MAX_SSE_CONNECTION_TIME: '25d' })).toThrow('MAX_SSE_CONNECTION_TIME="25d"');
    expect(() => sut({ MAX_SSE_CONNECTION_TIME: '1441m' })).toThrow('from 100ms to 24h');
  });

  it('keeps the HTTP headers timeout within the request timeout', () => {
    expect(() => sut({ HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      'HTTP_HEADERS_TIMEOUT_MS=40000: must not be greater than HTTP_REQUEST_TIMEOUT_MS (30000)',
    );
  });

  it('requires exp on tokens by default in production only', () => {
    expect(sut({}).JWT_REQUIRE_EXP).toBe(false);
    expect(sut({ NODE_ENV: 'production', AUTH_MODE: 'off' }).JWT_REQUIRE_EXP).toBe(true);
    expect(sut({ NODE_ENV: 'production', AUTH_MODE: 'off', JWT_REQUIRE_EXP: 'false' }).JWT_REQUIRE_EXP).toBe(
      false,
    );
    expect(() => sut({ JWT_REQUIRE_EXP: 'yes please' })).toThrow('JWT_REQUIRE_EXP="yes please"');
  });

  it('reads TRUSTED_ORIGINS as a list of origins', () => {
    expect(sut({ TRUSTED_ORIGINS: 'https://app.example, http://127.0.0.1:8080/' }).TRUSTED_ORIGINS).toEqual([
      'https://app.example',
      'http://127.0.0.1:8080',
    ]);
    expect(() => sut({ TRUSTED_ORIGINS: 'https://app.example/page' })).toThrow('TRUSTED_ORIGINS=');
    expect(() => sut({ TRUSTED_ORIGINS: 'app.example' })).toThrow('TRUSTED_ORIGINS=');
  });

  it('refuses to start in production without AUTH_MODE, naming the variable', () => {
    expect(() => sut({ NODE_ENV: 'production' })).toThrow('AUTH_MODE=null: must be set');
    expect(sut({ NODE_ENV: 'production', AUTH_MODE: 'off' }).AUTH_MODE).toBe('off');
  });

  it('needs a key source for AUTH_MODE=jwt', () => {
    expect(() => sut({ AUTH_MODE: 'jwt' })).toThrow('JWT_SECRET=null');
    expect(() => sut({ AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).toThrow('JWT_SECRET="short"');
    expect(sut({ AUTH_MODE: 'jwt', JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks.json' }).AUTH_MODE).toBe('jwt');
  });
});
