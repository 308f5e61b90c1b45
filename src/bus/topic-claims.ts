import { ConfigValidationError } from '../config/environment-variables';
import { TopicOptions } from './message-bus.interface';

/**
 * Which topics the service keeps its own data on and which it opens to clients as they are
 * (TopicOptions.openedBy), learnt from the declarations every feature makes with the bus: the one
 * place that knows them all. The service's topics carry per-user data (messages, reports, dead
 * letters), which an open stream would hand to anyone, so no topic may be both.
 */
export class TopicClaims {
  private readonly own = new Set<string>();
  private readonly opened = new Map<string, string>();

  declared(topic: string, options: TopicOptions = {}): void {
    if (options.openedBy === undefined) {
      this.own.add(topic);
    } else {
      this.opened.set(topic, options.openedBy);
    }
  }

  commands(topic: string): void {
    this.own.add(topic);
  }

  /** Throws a ConfigValidationError naming each opened topic that is one of the service's own. */
  assertSeparate(): void {
    const problems = [...this.opened]
      .filter(([topic]) => this.own.has(topic))
      .map(
        ([topic, setting]) =>
          `${setting}: lists ${topic}, a topic of this service that carries its users' data; it cannot be streamed to clients, remove it from ${setting}`,
      );
    if (problems.length > 0) {
      throw new ConfigValidationError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    }
  }
}
