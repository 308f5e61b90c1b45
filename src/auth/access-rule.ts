/** Who may use a route when AUTH_MODE=jwt (AUTH_MODE=jwt). */
export type AccessRule =
  /** Reads a stream: any valid token; with `subjectQuery`, the token's subject must be that query value. */
  | ({ readonly kind: 'subscriber'; readonly subjectQuery?: string } & SubjectMatching)
  /**
   * Reads a stream of a named resource: a token with the scope `scopePrefix` + the route parameter
   * `scopeParam` (`kafka:clicks` for GET /kafka/clicks/sse).
   */
  | { readonly kind: 'scoped-subscriber'; readonly scopePrefix: string; readonly scopeParam: string }
  /** Publishes or broadcasts: a token with the `publish` scope. */
  | { readonly kind: 'publisher' }
  /** Acts on one user's data: that user's own token, or a token with the `publish` scope. */
  | ({ readonly kind: 'owner-or-publisher'; readonly subjectQuery: string } & SubjectMatching);

interface SubjectMatching {
  /** Users named by UUID are one user in any letter case: the subject is compared ignoring case. */
  readonly subjectIgnoresCase?: boolean;
}

/** Metadata key of the rule @Access() puts on a handler. */
export const ACCESS_RULE = 'auth:access-rule';

/** The scope a token needs to publish. */
export const PUBLISH_SCOPE = 'publish';
