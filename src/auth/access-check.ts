import { AccessRule, PUBLISH_SCOPE } from './access-rule';
import { VerifiedToken } from './token-verifier';

/**
 * Why a verified token does not give a rule's access, or undefined when it does. `asked` gives the
 * value a rule names by its `subjectQuery` or `scopeParam` (a route's query or path parameter, a
 * multiplexed stream's name part).
 */
export function accessRefusal(
  rule: AccessRule,
  token: VerifiedToken,
  asked: (subjectQuery: string) => unknown,
): string | undefined {
  const publisher = token.scopes.has(PUBLISH_SCOPE);
  switch (rule.kind) {
    case 'subscriber': {
      const value = rule.subjectQuery === undefined ? undefined : asked(rule.subjectQuery);
      if (value !== undefined && !sameSubject(value, token.subject, rule.subjectIgnoresCase)) {
        return `This token is not for ${rule.subjectQuery} ${JSON.stringify(value)}`;
      }
      return undefined;
    }
    case 'scoped-subscriber': {
      const value = asked(rule.scopeParam);
      const scope = `${rule.scopePrefix}${typeof value === 'string' ? value : ''}`;
      return token.scopes.has(scope)
        ? undefined
        : `This stream needs a token with the ${JSON.stringify(scope)} scope`;
    }
    case 'publisher':
      return publisher ? undefined : `Publishing needs a token with the "${PUBLISH_SCOPE}" scope`;
    case 'owner-or-publisher': {
      const value = asked(rule.subjectQuery);
      if (!publisher && !sameSubject(value, token.subject, rule.subjectIgnoresCase)) {
        return `This token is not for ${rule.subjectQuery} ${JSON.stringify(value)} and has no "${PUBLISH_SCOPE}" scope`;
      }
      return undefined;
    }
  }
}

/** The user a request names (a query value, as Express parsed it) against the token's subject. */
function sameSubject(asked: unknown, subject: string, ignoreCase = false): boolean {
  if (typeof asked !== 'string') {
    return false;
  }
  return ignoreCase ? asked.toLowerCase() === subject.toLowerCase() : asked === subject;
}
