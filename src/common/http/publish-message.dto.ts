import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString } from 'class-validator';

/** A message to publish: the raw text body, or `{"message": "..."}` as JSON. */
export class PublishMessageDto {
  @ApiProperty({ description: 'The message text; line breaks are kept', example: 'Howdy 🤠' })
  @IsString()
  @IsNotEmpty()
  message: string;
}

export class PublishedMessageDto {
  @ApiProperty({
    description: 'Id of the event that carries the message on its streams',
    example: 'mifx3k2a-42',
  })
  id: string;
}
