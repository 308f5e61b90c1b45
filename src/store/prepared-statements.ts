import { Client, ClientConfig, QueryConfig } from 'pg';

/** Statement texts to prepare, by text: their names. */
const PREPARED = new Map<string, string>();

/**
 * Registers `text` (a constant statement with $n parameters) to run as a named prepared statement on
 * PostgreSQL: each connection parses and plans it once, not on every call. For the hot statements of a
 * feature (the reports' transitions and relay), where parsing and planning a few-CTE statement was most
 * of PostgreSQL's CPU. Returns the text, to run as usual (`CompiledQuery.raw(text, parameters)`); PGlite
 * runs it as a plain statement.
 */
export function preparedStatement(name: string, text: string): string {
  const known = PREPARED.get(text);
  if (known !== undefined && known !== name) {
    throw new Error(`statement ${name} has the same text as ${known}`);
  }
  if ([...PREPARED.values()].includes(name) && known === undefined) {
    throw new Error(`a statement named ${name} is already registered with another text`);
  }
  PREPARED.set(text, name);
  return text;
}

/**
 * The pg client of the store's pool: a query whose text was registered with `preparedStatement`, given as
 * (text, values) without a callback (as Kysely's driver gives every query), runs as that named statement.
 * Every other call goes to pg's own `query` unchanged.
 */
export class PreparingClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const [text, values, callback] = args;
      const name = typeof text === 'string' && callback === undefined ? PREPARED.get(text) : undefined;
      if (name !== undefined && (values === undefined || Array.isArray(values))) {
        const config: QueryConfig = { name, text: text as string, values: values as unknown[] | undefined };
        return query(config);
      }
      return query(...args);
    }) as Client['query'];
  }
}
