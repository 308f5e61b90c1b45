/** Unit specs live beside the code; e2e specs in test/ start the real app on port 0. */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }] },
  testEnvironment: 'node',
};

/**
 * The client package (client/) is an ES module written with `.js` specifiers, and its one
 * dependency, eventsource-parser, ships ES modules only: jest's CommonJS runtime takes both once
 * the specifiers lose their extension and the dependency is compiled like the sources.
 */
const clientModules = {
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    ...common.transform,
    '/eventsource-parser/.+\\.js$': ['ts-jest', { tsconfig: { isolatedModules: true, allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!eventsource-parser/)'],
};

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
