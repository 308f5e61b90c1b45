import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { ENTITY_ID_PATTERN } from '../temperature-event';

export class EntityIdParamDto {
  @ApiProperty({
    description: 'Temperature entity id',
    example: 'sensor-1',
    pattern: ENTITY_ID_PATTERN.source,
  })
  @Matches(ENTITY_ID_PATTERN, { message: '$property must be 1-64 of A-Z a-z 0-9 . _ ~ -' })
  id: string;
}
