/** The commit log of temperature entities: one record per event, keyed by entity id. */
export const TEMPERATURE_TOPIC = 'temperature';
