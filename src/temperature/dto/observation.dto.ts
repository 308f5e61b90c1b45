import { ApiProperty } from '@nestjs/swagger';
import { IsNumber, Max, Min } from 'class-validator';

export class ObservationDto {
  @ApiProperty({ description: 'The temperature read, in °C', example: 21.5, minimum: -273.15, maximum: 1e6 })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: '$property must be a finite number' })
  @Min(-273.15)
  @Max(1e6)
  temperature: number;
}
