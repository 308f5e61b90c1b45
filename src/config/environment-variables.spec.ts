import { ConfigValidationError, loadConfig } from './environment-variables';

describe(loadConfig.name, () => {
  it('runs with no configuration at all: port 3000, in-memory bus', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      MESSAGE_BUS: 'memory',
      HEARTBEAT_INTERVAL_MS: 15_000,
      HEARTBEAT_KEEPALIVE_MS: 3_000,
    });
    expect(config.HOST).toBeUndefined();
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
    ['MESSAGE_BUS', 'kafkaa'],
    ['SSE_RETRY_MS', '1.5'],
  ])('stops on %s=%s, naming the variable and the value', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigValidationError);
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}=${JSON.stringify(value)}`);
  });
});
