import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** An event as recorded, with the id of the SSE event that carries it. */
export class RecordedTemperatureEventDto {
  @ApiProperty({ example: 'sensor-1' })
  entityId: string;

  @ApiProperty({ enum: ['Registered', 'TemperatureRead'] })
  type: string;

  @ApiPropertyOptional({ example: 21.5 })
  temperature?: number;

  @ApiProperty({ description: 'Id of the SSE event that carries it on the entity stream', example: '42' })
  id: string;
}
