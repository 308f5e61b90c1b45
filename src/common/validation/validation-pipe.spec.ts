import { ArgumentMetadata, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { IsString, ValidationError, ValidatorOptions } from 'class-validator';
import { setFlagsFromString } from 'node:v8';
import { createValidationPipe } from './validation-pipe';

// V8's own test hooks: whether two objects share a hidden class, and optimising a function now.
setFlagsFromString('--allow-natives-syntax');

/** A V8 natives call (`%Name(args)`): compiled here, after the flag is set, as only then does it parse. */
function natives<A extends unknown[], R>(name: string, ...params: string[]): (...args: A) => R {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- natives syntax cannot be written in a module
  return new Function(...params, `return %${name}(${params.join(', ')})`) as (...args: A) => R;
}
const haveSameMap = natives<[object, object], boolean>('HaveSameMap', 'a', 'b');
const prepare = natives<[unknown], void>('PrepareFunctionForOptimization', 'f');
const optimiseOnNextCall = natives<[unknown], void>('OptimizeFunctionOnNextCall', 'f');

type Validate = (
  object: object,
  options?: ValidatorOptions,
) => ValidationError[] | Promise<ValidationError[]>;

class Dto {
  @IsString()
  name!: string;
}
const metadata: ArgumentMetadata = { type: 'body', metatype: Dto };

/** The options objects the pipe gives class-validator on its last calls, once `transform` is optimised. */
async function optionsOfOptimisedCalls(pipe: ValidationPipe): Promise<object[]> {
  const seen: object[] = [];
  const validate: Validate = pipe['validate'].bind(pipe);
  pipe['validate'] = (object, options) => {
    seen.push(options ?? {});
    return validate(object, options);
  };
  const transform = ValidationPipe.prototype.transform;
  prepare(transform);
  await pipe.transform({ name: 'a' }, metadata);
  await pipe.transform({ name: 'b' }, metadata);
  optimiseOnNextCall(transform);
  for (let i = 0; i < 3; i++) {
    await pipe.transform({ name: `c${i}` }, metadata);
  }
  return seen.slice(-3);
}

describe('the global ValidationPipe', () => {
  it('gives class-validator options of one hidden class on every call (none made per request)', async () => {
    const [a, b, c] = await optionsOfOptimisedCalls(createValidationPipe());
    expect(haveSameMap(a, b) && haveSameMap(b, c)).toBe(true);
  });

  it('(the check sees it) a pipe whose options lack validationError makes one per call', async () => {
    const options: ValidationPipeOptions = { whitelist: true, forbidNonWhitelisted: true, transform: true };
    const [a, b, c] = await optionsOfOptimisedCalls(new ValidationPipe(options));
    expect(haveSameMap(a, b) || haveSameMap(b, c)).toBe(false);
  });
});
