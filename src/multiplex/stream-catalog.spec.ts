import { Transform } from 'class-transformer';
import { IsString, Matches } from 'class-validator';
import { parameterByDto } from './stream-catalog';

class NameDto {
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsString()
  @Matches(/^[a-z]{1,8}$/, { message: 'name must be 1 to 8 letters' })
  name!: string;
}

const sut = parameterByDto;

describe(parameterByDto.name, () => {
  it("checks a stream's parameter by the DTO's rules, as the DTO transforms it", () => {
    expect(sut(NameDto, 'name', 'Ada')).toEqual({ parameter: 'ada' });
    expect(sut(NameDto, 'name', 'ada-1')).toEqual({ error: 'name must be 1 to 8 letters' });
    expect(sut(NameDto, 'name', undefined)).toEqual({ error: 'it needs a name after the colon' });
  });

  it('gives a parameter seen before the same answer, and never remembers a refused one as valid', () => {
    for (let round = 0; round < 3; round++) {
      expect(sut(NameDto, 'name', 'Bob')).toEqual({ parameter: 'bob' });
      expect(sut(NameDto, 'name', 'bob!')).toEqual({ error: 'name must be 1 to 8 letters' });
    }
  });

  it('stays right past the number of parameters it remembers', () => {
    const letters = (i: number) =>
      i.toString(26).replace(/./g, (digit) => 'abcdefghijklmnopqrstuvwxyz'[parseInt(digit, 26)]);
    for (let i = 0; i < 12_000; i++) {
      expect(sut(NameDto, 'name', letters(i).toUpperCase())).toEqual({ parameter: letters(i) });
    }
    expect(sut(NameDto, 'name', 'toolongname')).toEqual({ error: 'name must be 1 to 8 letters' });
  });
});
