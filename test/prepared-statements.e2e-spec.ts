import { preparedStatement, PreparingClient } from '../src/store/prepared-statements';
import { createTestDatabase, dropTestDatabase } from './support/postgres';

jest.setTimeout(60_000);

describe('prepared statements on PostgreSQL', () => {
  let url: string;
  let client: PreparingClient;

  beforeAll(async () => {
    url = await createTestDatabase('prepared');
    client = new PreparingClient({ connectionString: url });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await dropTestDatabase(url);
  });

  const prepared = async (): Promise<string[]> =>
    (await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map(
      (row) => row.name,
    );

  it('runs a registered text as its named statement, prepared once per connection', async () => {
    const text = preparedStatement('test_add', 'SELECT $1::int + $2::int AS sum');
    expect(await prepared()).toEqual([]);

    const first = await client.query<{ sum: number }>(text, [1, 2]);
    const second = await client.query<{ sum: number }>(text, [40, 2]);

    expect([first.rows[0].sum, second.rows[0].sum]).toEqual([3, 42]);
    expect(await prepared()).toEqual(['test_add']);
  });

  it('leaves every other query as pg runs it', async () => {
    const result = await client.query<{ n: number }>('SELECT $1::int AS n', [7]);
    expect(result.rows[0].n).toBe(7);
    const viaCallback = await new Promise<number>((resolve, reject) =>
      client.query<{ n: number }>(
        'SELECT 8 AS n',
        [],
        (error: Error | null, res: { rows: { n: number }[] }) =>
          error ? reject(error) : resolve(res.rows[0].n),
      ),
    );
    expect(viaCallback).toBe(8);
    expect(await prepared()).toEqual(['test_add']);
  });

  it('refuses one name for two texts, and one text under two names', () => {
    preparedStatement('test_once', 'SELECT 1 AS once');
    expect(preparedStatement('test_once', 'SELECT 1 AS once')).toBe('SELECT 1 AS once');
    expect(() => preparedStatement('test_once', 'SELECT 2 AS once')).toThrow(/already registered/);
    expect(() => preparedStatement('test_other', 'SELECT 1 AS once')).toThrow(/same text as test_once/);
  });
});
