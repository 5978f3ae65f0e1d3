import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-codes';

export class PaginationDto {
  @ApiProperty({ type: String, nullable: true, description: 'Opaque cursor for the next page; null on the last page' })
  cursor: string | null;
  @ApiProperty({ example: 20 })
  limit: number;
  @ApiProperty()
  hasMore: boolean;
  @ApiPropertyOptional({ description: 'Total matching items, where the list reports it' })
  totalCount?: number;
}

export class ErrorBodyDto {
  @ApiProperty({ enum: ErrorCode, enumName: 'ErrorCode' })
  code: ErrorCode;
  @ApiProperty({ example: 'Invalid request parameters' })
  message: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Error-specific details, e.g. `fields` for VALIDATION_ERROR: { "settings.defaultTemperature": ["…"] }',
  })
  details?: Record<string, unknown>;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ enum: [false] })
  success: false;
  @ApiProperty({ type: ErrorBodyDto })
  error: ErrorBodyDto;
  @ApiProperty({ format: 'date-time' })
  timestamp: string;
  @ApiProperty({ example: 'req_7d3c0f6e-5a7b-4f43-9f57-6f1d2f3b9a10' })
  requestId: string;
}
