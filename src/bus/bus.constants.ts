/** Injection token of the active MessageBus implementation. */
export const MESSAGE_BUS = Symbol('MESSAGE_BUS');
