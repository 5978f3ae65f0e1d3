import { Controller, Get, HttpCode, HttpStatus, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response as HttpResponse } from 'express';
import type { Response } from 'openai/resources/responses/responses';
import { AuthUser, CurrentUser } from '../../../common/decorators/current-user.decorator';
import { Scopes } from '../../../common/decorators/scopes.decorator';
import { RawResponse } from '../../../common/http/envelope';
import { answerModelCall } from '../answer-model-call';
import { sseMediaType, sseModels } from '../../../common/openapi/sse';
import { ConcurrencyLimiter } from '../../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../../common/throttling/rate-limits';
import { ApiOpenAIErrors, OpenAIBody } from '../openai-route.decorators';
import { PersonalTokenGuard } from '../personal-token.guard';
import {
  CreateResponseRequestDto,
  RESPONSE_INPUT_ITEM_MODELS,
  RESPONSE_STREAM_EVENTS,
  ResponseFunctionCallDto,
  ResponseIdParamDto,
  ResponseObjectDto,
  ResponseOutputMessageDto,
  ResponseToolChoiceFunctionDto,
  responseSchemaRef,
} from './responses.dto';
import { ResponsesService } from './responses.service';


/** OpenAI's Responses API (`/v1/responses`), with the same credentials, scopes and limits as /v1/chat/completions. */
@ApiTags('gateway')
@ApiBearerAuth()
@ApiExtraModels(...RESPONSE_INPUT_ITEM_MODELS, ResponseOutputMessageDto, ResponseFunctionCallDto, ResponseToolChoiceFunctionDto, ...sseModels(RESPONSE_STREAM_EVENTS))
@Controller('v1')
@UseGuards(PersonalTokenGuard)
@Scopes('models')
@RateLimit('gateway')
@RawResponse()
@ApiOpenAIErrors(HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS, HttpStatus.INTERNAL_SERVER_ERROR, HttpStatus.SERVICE_UNAVAILABLE)
export class ResponsesController {
  constructor(
    private readonly responses: ResponsesService,
    private readonly limiter: ConcurrencyLimiter,
  ) {}

  @Post('responses')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'createResponse',
    summary: "OpenAI's Responses API for any catalog model (streaming with stream: true)",
    description:
      'Point an OpenAI SDK (client.responses.create), the Vercel AI SDK or LangChain at `<server>/v1` with a personal API ' +
      'token as the key. Mapped: model, input (messages with text and data: URL images, function_call, ' +
      'function_call_output, item_reference), instructions, tools (function tools only), tool_choice, parallel_tool_calls, ' +
      'text.format, temperature, top_p, max_output_tokens, previous_response_id, store, stream, metadata; other parameters ' +
      'are dropped. A model whose provider cannot honour tools or a JSON format is refused with 400 naming the parameter.',
  })
  @ApiBody({ type: CreateResponseRequestDto })
  @ApiResponse({
    status: 200,
    description: 'A response object; with stream: true, text/event-stream of response events (`event: <type>`, `data: {…}`)',
    content: {
      'application/json': { schema: responseSchemaRef() },
      'text/event-stream': sseMediaType(
        'Response events, each `event: <type>` with its JSON as `data:`, from response.created to response.completed (or .incomplete, .failed)',
        RESPONSE_STREAM_EVENTS,
        'event: response.created\ndata: {"type":"response.created","sequence_number":0,…}\n\n',
      ),
    },
  })
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.BAD_GATEWAY, HttpStatus.GATEWAY_TIMEOUT)
  async create(
    @CurrentUser() user: AuthUser,
    @OpenAIBody(CreateResponseRequestDto) dto: Readonly<CreateResponseRequestDto>,
    @Res() res: HttpResponse,
  ): Promise<void> {
    this.limiter.holdCall(user, res);
    await answerModelCall<Response>(res, dto.stream, {
      stream: (signal) => this.responses.stream(user, dto, res, signal),
      complete: (signal) => this.responses.create(user, dto, signal),
    });
  }

  @Get('responses/:id')
  @ApiOperation({ operationId: 'retrieveResponse', summary: 'A response stored for you (store: true, the default)' })
  @ApiResponse({ status: 200, type: ResponseObjectDto })
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  retrieve(@CurrentUser() user: AuthUser, @Param() params: ResponseIdParamDto): Promise<Response> {
    return this.responses.retrieve(user, params.id);
  }
}
