import { lastValueFrom } from 'rxjs';
import { BusUnavailableError } from '../bus.errors';
import { InMemoryMessageBus } from '../in-memory-message-bus';
import { BusClient } from './bus-client';

describe(BusClient.name, () => {
  const setUp = () => {
    const bus = new InMemoryMessageBus(100, 100_000);
    bus.declareTopic('news');
    return { bus, sut: new BusClient(bus) };
  };

  it('emit() publishes at once and gives the stored record once the bus acknowledged it', async () => {
    const { bus, sut } = setUp();
    const sent = sut.emit('news', { key: 'k', value: 'hello' });
    expect(bus.head('news')).not.toBe('0'); // published before anyone subscribed
    const stored = await lastValueFrom(sent);
    expect(stored).toEqual(expect.objectContaining({ topic: 'news', key: 'k', value: 'hello' }));
    expect(stored.position).toBe(bus.head('news'));
    expect(await lastValueFrom(sent)).toBe(stored); // a late subscriber gets the same outcome
  });

  it("emit() fails with the bus's own error (BusUnavailableError stays a 503), even for a late subscriber", async () => {
    const { bus, sut } = setUp();
    const down = new BusUnavailableError('Kafka is away');
    jest.spyOn(bus, 'publish').mockRejectedValue(down);
    const sent = sut.emit('news', { value: 'x' });
    await new Promise((resolve) => setImmediate(resolve)); // no unhandled rejection meanwhile
    await expect(lastValueFrom(sent)).rejects.toBe(down);
  });

  it('produce() is the same publish, as the bus promise, with a topic-wide record when no key is given', async () => {
    const { bus, sut } = setUp();
    const publish = jest.spyOn(bus, 'publish');
    const stored = await sut.produce('news', { value: 'plain' });
    expect(publish).toHaveBeenCalledWith('news', null, 'plain');
    expect(stored.key).toBeNull();
  });

  it('refuses what is not a record, and send(), since nobody replies on the bus', async () => {
    const { sut } = setUp();
    await expect(lastValueFrom(sut.emit('news', 'just text'))).rejects.toThrow(/\{ key\?, value \}/);
    await expect(lastValueFrom(sut.send('news', { value: 'x' }))).rejects.toThrow(/use emit\(\)/);
  });
});
