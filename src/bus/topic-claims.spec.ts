import { ConfigValidationError } from '../config/environment-variables';
import { TopicClaims } from './topic-claims';

describe(TopicClaims.name, () => {
  it('lets opened topics be, when none is the service’s own', () => {
    const sut = new TopicClaims();
    sut.declared('v3_messages', { parse: () => ({ key: null }) });
    sut.commands('v4_messages');
    sut.declared('clicks', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => sut.assertSeparate()).not.toThrow();
  });

  it.each([
    ['declared first by a feature', ['own', 'opened']],
    ['opened first', ['opened', 'own']],
  ])('refuses an opened topic that a feature declared (%s), naming topic and setting', (_, order) => {
    const sut = new TopicClaims();
    for (const step of order) {
      if (step === 'own') {
        sut.declared('v3_messages');
      } else {
        sut.declared('v3_messages', { openedBy: 'KAFKA_SSE_TOPICS' });
      }
    }
    expect(() => sut.assertSeparate()).toThrow(ConfigValidationError);
    expect(() => sut.assertSeparate()).toThrow(
      /^Invalid configuration:\n {2}KAFKA_SSE_TOPICS: lists v3_messages, a topic of this service/,
    );
  });

  it('refuses a command topic too, and names every conflict', () => {
    const sut = new TopicClaims();
    sut.commands('v4_messages');
    sut.declared('v4_messages.dead-letter');
    sut.declared('v4_messages', { openedBy: 'KAFKA_SSE_TOPICS' });
    sut.declared('v4_messages.dead-letter', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => sut.assertSeparate()).toThrow(/lists v4_messages,[^]*lists v4_messages\.dead-letter,/);
  });

  it.each([
    ['v3.messages', 'v3_messages'],
    ['report.updates', 'report_updates'],
    ['v4.messages.dead-letter', 'v4_messages.dead-letter'],
  ])('refuses %s, which collides with the service’s %s in Kafka, naming both', (listed, own) => {
    const claims = new TopicClaims();
    claims.declared(own);
    claims.declared(listed, { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => claims.assertSeparate()).toThrow(
      `KAFKA_SSE_TOPICS: lists ${listed}, which Kafka cannot hold beside ${own}, a topic of this service (. and _ collide in topic names)`,
    );
  });

  it('refuses two listed topics that collide with each other, naming both, and lets distinct ones be', () => {
    const claims = new TopicClaims();
    claims.declared('page_views', { openedBy: 'KAFKA_SSE_TOPICS' });
    claims.declared('page-views', { openedBy: 'KAFKA_SSE_TOPICS' });
    claims.declared('page.views', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => claims.assertSeparate()).toThrow(
      /^Invalid configuration:\n {2}KAFKA_SSE_TOPICS: lists page\.views, which Kafka cannot hold beside page_views, also listed/,
    );
    const distinct = new TopicClaims();
    distinct.declared('v3_messages');
    distinct.declared('v3-messages', { openedBy: 'KAFKA_SSE_TOPICS' });
    distinct.declared('clicks.eu', { openedBy: 'KAFKA_SSE_TOPICS' });
    distinct.declared('clicks.us', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => distinct.assertSeparate()).not.toThrow();
  });
});
