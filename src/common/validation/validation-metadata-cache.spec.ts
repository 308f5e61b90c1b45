import { getMetadataStorage, IsInt, IsNotEmpty, IsString, MaxLength, validateSync } from 'class-validator';
import { cacheValidationMetadataLookups } from './validation-metadata-cache';

type Lookup = (...args: unknown[]) => unknown;

// Counts the lookups that reach class-validator's own code (installed before the cache wraps it).
const storage = getMetadataStorage() as unknown as { getTargetValidationMetadatas: Lookup };
const ownLookup = storage.getTargetValidationMetadatas;
const lookedUp: unknown[] = [];
storage.getTargetValidationMetadatas = function (this: unknown, ...args: unknown[]) {
  lookedUp.push(args[0]);
  return ownLookup.apply(this, args);
};
const sut = cacheValidationMetadataLookups;
sut();
sut(); // a second call changes nothing

const failed = (object: object, groups?: string[]) =>
  validateSync(object, { groups }).flatMap((error) => Object.keys(error.constraints ?? {}));

describe(cacheValidationMetadataLookups.name, () => {
  it("looks a class's rules up once, however many objects are validated", () => {
    class Note {
      @IsString()
      @IsNotEmpty()
      text: string;
    }
    lookedUp.length = 0;
    for (const text of ['a', 'b', '', 'c']) {
      failed(Object.assign(new Note(), { text }));
    }
    expect(failed(Object.assign(new Note(), { text: '' }))).toEqual(['isNotEmpty']);
    expect(failed(Object.assign(new Note(), { text: 'ok' }))).toEqual([]);
    expect(lookedUp.filter((target) => target === Note)).toHaveLength(1);
  });

  it('applies a rule added after the first validation, to the class and to those that extend it', () => {
    class Base {
      @IsString()
      name: string;
    }
    class Derived extends Base {
      @IsInt()
      count: number;
    }
    const derived = Object.assign(new Derived(), { name: 'x'.repeat(10), count: 1 });
    expect(failed(Object.assign(new Base(), { name: 'x'.repeat(10) }))).toEqual([]);
    expect(failed(derived)).toEqual([]);
    MaxLength(5)(Base.prototype, 'name');
    expect(failed(Object.assign(new Base(), { name: 'x'.repeat(10) }))).toEqual(['maxLength']);
    expect(failed(derived)).toEqual(['maxLength']);
  });

  it('keeps the answers for different groups apart', () => {
    class Grouped {
      @IsInt({ groups: ['a'] })
      @IsString({ groups: ['b'] })
      value: unknown;
    }
    const object = Object.assign(new Grouped(), { value: 'text' });
    expect(failed(object, ['a'])).toEqual(['isInt']);
    expect(failed(object, ['b'])).toEqual([]);
    expect(failed(object, ['a'])).toEqual(['isInt']);
    expect(failed(Object.assign(new Grouped(), { value: 5 }), ['b'])).toEqual(['isString']);
  });
});
