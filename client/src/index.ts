export { createClient, useSharedHub } from './client.js';
export type {
  Client,
  ClientEvent,
  ClientOptions,
  HubFactory,
  KafkaEvent,
  Subscription,
  SubscriptionHandlers,
} from './client.js';
export { GatewayError } from './gateway-error.js';
export type { Hub, HubEvent, HubListener, HubStatus } from './hub.js';
export { LocalHub } from './local-hub.js';
export type { LocalHubOptions } from './local-hub.js';
// Imported for its effect too: in a browser, createClient shares one connection among the tabs.
export { TabHub } from './tab-hub.js';
export type { TabHubOptions } from './tab-hub.js';
export { comparePositions, isAfter } from './positions.js';
export { checkStreamName, streamNameProblem } from './stream-names.js';
export type {
  PublishData,
  ReportStatus,
  ReportStatusUpdate,
  StreamEvent,
  StreamName,
  TemperatureEvent,
  TemperatureStreamEvent,
} from '../../src/multiplex/stream-contract.js';
