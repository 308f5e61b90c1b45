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

  /**
   * Throws a ConfigValidationError naming each opened topic that is one of the service's own, or
   * that Kafka would take for another topic here: the broker refuses to create it, and the instance
   * would only say that Kafka cannot be reached.
   */
  assertSeparate(): void {
    const problems: string[] = [];
    const opened = [...this.opened];
    opened.forEach(([topic, setting], index) => {
      if (this.own.has(topic)) {
        problems.push(
          `${setting}: lists ${topic}, a topic of this service that carries its users' data; it cannot be streamed to clients, remove it from ${setting}`,
        );
        return;
      }
      const own = [...this.own].find((other) => collide(topic, other));
      const listed = opened.slice(0, index).find(([other]) => collide(topic, other));
      const clash = own ?? listed?.[0];
      if (clash !== undefined) {
        problems.push(
          `${setting}: lists ${topic}, which Kafka cannot hold beside ${own === undefined ? `${clash}, also listed` : `${clash}, a topic of this service`} (. and _ collide in topic names); remove or rename it`,
        );
      }
    });
    if (problems.length > 0) {
      throw new ConfigValidationError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    }
  }
}

/** Kafka keeps per-topic metrics under names with `.` as `_`: two names equal but for those collide. */
function collide(one: string, other: string): boolean {
  return one !== other && one.replaceAll('.', '_') === other.replaceAll('.', '_');
}
