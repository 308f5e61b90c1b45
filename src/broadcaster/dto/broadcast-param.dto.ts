import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString } from 'class-validator';

export class BroadcastParamDto {
  @ApiProperty({ description: 'The message to broadcast (URL-encoded in the path)', example: 'hello' })
  @IsString()
  @IsNotEmpty()
  msg: string;
}
