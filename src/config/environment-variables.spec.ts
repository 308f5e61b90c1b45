import { ConfigValidationError, loadConfig } from './environment-variables';

describe(loadConfig.name, () => {
  it('runs with no configuration at all: port 3000, in-memory bus', () => {
    const config = loadConfig({});
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
    expect(loadConfig({ MAX_SSE_CONNECTION_TIME: value }).MAX_SSE_CONNECTION_TIME).toBe(ms);
  });

  it('takes a list of Kafka brokers', () => {
    expect(loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092,kafka-2:19092' }).KAFKA_BROKERS).toBe(
      '127.0.0.1:9092,kafka-2:19092',
    );
  });

  it('reads numbers from strings and ignores unrelated and empty variables', () => {
    const config = loadConfig({ PORT: '8080', SSE_MAX_CONNECTIONS: '', HOME: '/root' });
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
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}`);
  });

  it('refuses to start in production without AUTH_MODE, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow('AUTH_MODE=null: must be set');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'off' }).AUTH_MODE).toBe('off');
  });

  it('needs a key source for AUTH_MODE=jwt', () => {
    expect(() => loadConfig({ AUTH_MODE: 'jwt' })).toThrow('JWT_SECRET=null');
    expect(() => loadConfig({ AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).toThrow('JWT_SECRET="short"');
    expect(loadConfig({ AUTH_MODE: 'jwt', JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks.json' }).AUTH_MODE).toBe(
      'jwt',
    );
  });
});
