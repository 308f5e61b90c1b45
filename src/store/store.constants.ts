/** Injection token of the `Kysely<Database>` instance, migrated before the application serves. */
export const DATABASE = Symbol('DATABASE');

/** Injection token of the StoreConnection: which store runs, where, and what start-up migrated. */
export const STORE_CONNECTION = Symbol('STORE_CONNECTION');
