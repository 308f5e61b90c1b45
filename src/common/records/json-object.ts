/**
 * A record value that should be a JSON object, as any producer may have written it: its fields, or
 * why it is not one (a reason to log and skip it, never an exception in a stream's pipeline).
 */
export function parseJsonObject(value: string): { fields: Record<string, unknown> } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { error: 'value is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { error: 'value is not a JSON object' };
  }
  return { fields: json as Record<string, unknown> };
}
