/** Unit specs live beside the code; e2e specs in test/ start the real app on port 0. */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }] },
  testEnvironment: 'node',
};

/**
 * The client package (client/) is an ES module written with `.js` specifiers: its specs, and the
 * e2e specs of test/client/ (an ES module too), load it and its ES-module-only dependency
 * (eventsource-parser) natively, once the specifiers lose their extension.
 */
const clientModules = { moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' } };

module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    {
      ...common,
      ...clientModules,
      displayName: 'client',
      rootDir: 'client',
      testRegex: 'src/.*\\.spec\\.ts$',
    },
    {
      ...common,
      ...clientModules,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: '.*\\.e2e-spec\\.ts$',
      // One real Kafka broker for the whole e2e run (TEST_KAFKA_BROKERS); scripts/kafka-broker.js.
      globalSetup: '<rootDir>/support/global-setup.ts',
      globalTeardown: '<rootDir>/support/global-teardown.ts',
    },
  ],
};
