import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

type Lookup = (
  target: object,
  targetSchema: string | undefined,
  always: boolean,
  strictGroups: boolean,
  groups?: string[],
) => ValidationMetadata[];

type Storage = ReturnType<typeof getMetadataStorage> & {
  getTargetValidationMetadatas: Lookup;
  addValidationMetadata: (metadata: ValidationMetadata) => void;
};

const cached = Symbol('cachedLookups');

/**
 * class-validator looks a class's rules up again for every object it validates: it filters them and walks
 * every class that has rules to find those the class inherits (about 4 µs per DTO, two DTOs per publish).
 * The rules of a class change only when a decorator adds one, so each lookup's answer is kept until then.
 * Lookups by schema name are left as they are. It replaces two methods of class-validator's storage,
 * which are internal: class-validator is pinned, and the spec checks the lookups still go through them.
 */
export function cacheValidationMetadataLookups(): void {
  // The storage is one per process (class-validator keeps it on globalThis), whichever build loads it.
  const storage = getMetadataStorage() as Storage & { [cached]?: true };
  if (storage[cached]) {
    return;
  }
  storage[cached] = true;
  const lookUp = storage.getTargetValidationMetadatas.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  let answers = new Map<object, Map<string, ValidationMetadata[]>>();
  storage.addValidationMetadata = (metadata) => {
    answers = new Map(); // a new rule may be inherited by any class
    add(metadata);
  };
  storage.getTargetValidationMetadatas = (target, targetSchema, always, strictGroups, groups) => {
    if (targetSchema !== undefined) {
      return lookUp(target, targetSchema, always, strictGroups, groups);
    }
    const options = `${always}|${strictGroups}|${groups?.join('\u0000') ?? ''}`;
    let ofTarget = answers.get(target);
    if (ofTarget === undefined) {
      ofTarget = new Map();
      answers.set(target, ofTarget);
    }
    let answer = ofTarget.get(options);
    if (answer === undefined) {
      answer = lookUp(target, targetSchema, always, strictGroups, groups);
      ofTarget.set(options, answer);
    }
    // A copy: callers get an array of their own, as they did.
    return answer.slice();
  };
}
