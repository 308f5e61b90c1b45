/** The most items one POST /publish takes: a bigger batch is a 413 (split it). */
export const MAX_PUBLISH_ITEMS = 1_000;

/** Stream kinds whose events are state changes made by their own routes, never published as text. */
export const DOMAIN_STREAM_ROUTES: Readonly<Record<string, string>> = {
  reports: 'POST /v4/new/report and PUT /v4/report',
  temperature: 'POST /api/temperature/<id>/registration and POST /api/temperature/<id>/observations',
};
