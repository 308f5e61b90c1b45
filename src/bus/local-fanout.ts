import { Observable, Subject } from 'rxjs';
import { BusRecord } from './message-bus.interface';

/**
 * Hands each record to the live subscribers of its topic and of its key. Keyed subscribers get a
 * Subject of their own, so a record for one user costs one lookup, not a scan of every stream;
 * a Subject is dropped with its last subscriber, so nothing stays behind for a user who left.
 * Shared by every MessageBus implementation: it is where records from the transport meet streams.
 */
export class LocalFanout {
  private readonly topics = new Map<
    string,
    { all?: Subject<BusRecord>; byKey: Map<string, Subject<BusRecord>> }
  >();

  dispatch(record: BusRecord): void {
    const topic = this.topics.get(record.topic);
    if (!topic) {
      return;
    }
    topic.all?.next(record);
    if (record.key !== null) {
      topic.byKey.get(record.key)?.next(record);
    }
  }

  /** Live records of the topic (or of one key of it), from the moment of subscription. */
  live(topicName: string, key?: string): Observable<BusRecord> {
    return new Observable<BusRecord>((subscriber) => {
      let topic = this.topics.get(topicName);
      if (!topic) {
        topic = { byKey: new Map() };
        this.topics.set(topicName, topic);
      }
      let subject: Subject<BusRecord>;
      if (key === undefined) {
        subject = topic.all ??= new Subject<BusRecord>();
      } else {
        subject = topic.byKey.get(key) ?? new Subject<BusRecord>();
        topic.byKey.set(key, subject);
      }
      const subscription = subject.subscribe(subscriber);
      const owner = topic;
      return () => {
        subscription.unsubscribe();
        if (subject.observed) {
          return;
        }
        if (key === undefined) {
          owner.all = undefined;
        } else {
          owner.byKey.delete(key);
        }
        if (!owner.all && owner.byKey.size === 0) {
          this.topics.delete(topicName);
        }
      };
    });
  }

  /** Live subscriptions held, by topic: for leak checks and metrics. */
  subscriptionCount(): number {
    let count = 0;
    for (const topic of this.topics.values()) {
      count += topic.all?.observers.length ?? 0;
      for (const subject of topic.byKey.values()) {
        count += subject.observers.length;
      }
    }
    return count;
  }
}
