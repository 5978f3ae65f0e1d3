import { ApiProperty } from '@nestjs/swagger';

export class SummaryDto {
  @ApiProperty({ example: 'This conversation explored event-driven architecture patterns…' })
  summary: string;
  @ApiProperty({ example: 45 })
  tokens: number;
  @ApiProperty({ format: 'date-time' })
  generatedAt: Date;
  @ApiProperty({ example: 'claude-opus' })
  modelUsed: string;
}
