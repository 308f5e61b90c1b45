import { ConfigValidationError } from '../config/environment-variables';
import { TopicClaims } from './topic-claims';

describe(TopicClaims.name, () => {
  it('lets opened topics be, when none is the service’s own', () => {
    const claims = new TopicClaims();
    claims.declared('v3_messages', { parse: () => ({ key: null }) });
    claims.commands('v4_messages');
    claims.declared('clicks', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => claims.assertSeparate()).not.toThrow();
  });

  it.each([
    ['declared first by a feature', ['own', 'opened']],
    ['opened first', ['opened', 'own']],
  ])('refuses an opened topic that a feature declared (%s), naming topic and setting', (_, order) => {
    const claims = new TopicClaims();
    for (const step of order) {
      if (step === 'own') {
        claims.declared('v3_messages');
      } else {
        claims.declared('v3_messages', { openedBy: 'KAFKA_SSE_TOPICS' });
      }
    }
    expect(() => claims.assertSeparate()).toThrow(ConfigValidationError);
    expect(() => claims.assertSeparate()).toThrow(
      /^Invalid configuration:\n {2}KAFKA_SSE_TOPICS: lists v3_messages, a topic of this service/,
    );
  });

  it('refuses a command topic too, and names every conflict', () => {
    const claims = new TopicClaims();
    claims.commands('v4_messages');
    claims.declared('v4_messages.dead-letter');
    claims.declared('v4_messages', { openedBy: 'KAFKA_SSE_TOPICS' });
    claims.declared('v4_messages.dead-letter', { openedBy: 'KAFKA_SSE_TOPICS' });
    expect(() => claims.assertSeparate()).toThrow(/lists v4_messages,[^]*lists v4_messages\.dead-letter,/);
  });
});
