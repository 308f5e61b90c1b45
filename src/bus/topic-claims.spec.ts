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
});
