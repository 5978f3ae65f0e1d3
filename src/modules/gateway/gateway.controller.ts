import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiHeader, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import type { Response } from 'express';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { RawResponse } from '../../common/http/envelope';
import { IdParamDto } from '../../common/http/params.dto';
import { answerModelCall } from './answer-model-call';
import { ApiOpenAIErrors, OpenAIBody } from './openai-route.decorators';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../common/throttling/rate-limits';
import { CreateThreadDto } from '../threads/threads.dto';
import { sseMediaType } from '../../common/openapi/sse';
import { ChatCompletionChunkDto, ChatCompletionDto, ChatCompletionRequestDto, ConversationDto, GatewayModelDto, GatewayModelListDto, ImagePartDto, NamedToolChoiceDto, NamedToolChoiceFunctionDto, TextPartDto } from './gateway.dto';
import { GatewayService } from './gateway.service';
import { PersonalTokenGuard } from './personal-token.guard';

function conversationHeader(value: string | undefined): string | undefined {
  if (value !== undefined && !isUUID(value)) {
    throw AppException.validation('Invalid request parameters', { fields: { 'x-conversation-id': ['X-Conversation-Id must be a UUID'] } });
  }
  return value;
}


@ApiTags('gateway')
@ApiBearerAuth()
@ApiExtraModels(TextPartDto, ImagePartDto, NamedToolChoiceDto, NamedToolChoiceFunctionDto)
@Controller('v1')
@UseGuards(PersonalTokenGuard)
@Scopes('models')
@RateLimit('gateway')
@RawResponse()
@ApiOpenAIErrors(HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS, HttpStatus.INTERNAL_SERVER_ERROR, HttpStatus.SERVICE_UNAVAILABLE)
export class GatewayController {
  constructor(
    private readonly gateway: GatewayService,
    private readonly limiter: ConcurrencyLimiter,
  ) {}

  @Post('chat/completions')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'createChatCompletion',
    summary: 'OpenAI-compatible chat completion for any catalog model (streaming with stream: true)',
    description:
      'Point an OpenAI SDK at `<server>/v1` with a personal API token as the key. Mapped: model, messages, stream, ' +
      'stream_options.include_usage, temperature, top_p, max_tokens/max_completion_tokens, stop, tools, tool_choice, ' +
      'parallel_tool_calls, functions/function_call (legacy), response_format, tool and image (data: URL) messages. n must ' +
      'be 1; a model that cannot honour tools, response_format or images refuses them with a 400 naming the parameter; ' +
      'other parameters are dropped. Anthropic models ignore temperature and top_p. With ' +
      'PERSIST_TRANSCRIPTS, conversation_id (or X-Conversation-Id) stores the exchange in that conversation.',
  })
  @ApiBody({ type: ChatCompletionRequestDto })
  @ApiHeader({ name: 'X-Conversation-Id', required: false, description: 'Same as conversation_id' })
  @ApiResponse({
    status: 200,
    description: 'A chat.completion; with stream: true, text/event-stream of chat.completion.chunk objects ending with data: [DONE]',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatCompletionDto) } },
      'text/event-stream': sseMediaType(
        'chat.completion.chunk objects as `data:` frames, then `data: [DONE]`',
        { message: { oneOf: [{ $ref: getSchemaPath(ChatCompletionChunkDto) }, { type: 'string', enum: ['[DONE]'] }] } },
        'data: {"object":"chat.completion.chunk",…}\n\ndata: [DONE]\n\n',
      ),
    },
  })
  @ApiExtraModels(ChatCompletionDto, ChatCompletionChunkDto)
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.BAD_GATEWAY, HttpStatus.GATEWAY_TIMEOUT)
  async chatCompletions(
    @CurrentUser() user: AuthUser,
    @OpenAIBody(ChatCompletionRequestDto) dto: Readonly<ChatCompletionRequestDto>,
    @Headers('x-conversation-id') conversationIdHeader: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const conversationId = dto.conversation_id ?? conversationHeader(conversationIdHeader);
    this.limiter.holdCall(user, res);
    await answerModelCall<ChatCompletion>(res, dto.stream, {
      stream: (signal) => this.gateway.stream(user, dto, conversationId, res, signal),
      complete: (signal) => this.gateway.complete(user, dto, conversationId, signal),
    });
  }

  @Get('models/:model')
  @ApiOperation({ operationId: 'retrieveGatewayModel', summary: 'OpenAI-compatible: one model this token can use' })
  @ApiResponse({ status: 200, type: GatewayModelDto })
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async retrieveModel(@CurrentUser() user: AuthUser, @Param('model') model: string): Promise<GatewayModelDto> {
    const found = (await this.gateway.listModels(user)).data.find((m) => m.id === model);
    if (!found) throw new AppException(ErrorCode.MODEL_NOT_FOUND, `Model ${model} is not available to you`, HttpStatus.NOT_FOUND);
    return found;
  }

  @Get('models')
  @ApiOperation({ operationId: 'listGatewayModels', summary: 'OpenAI-compatible list of the models this token can use now' })
  @ApiResponse({ status: 200, type: GatewayModelListDto })
  listModels(@CurrentUser() user: AuthUser): Promise<GatewayModelListDto> {
    return this.gateway.listModels(user);
  }

  @Post('conversations')
  @Scopes('threads:write')
  @ApiOperation({ operationId: 'createConversation', summary: 'Create a conversation to store completions in (PERSIST_TRANSCRIPTS; 501 when off)' })
  @ApiBody({ type: CreateThreadDto })
  @ApiResponse({ status: 201, type: ConversationDto })
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_IMPLEMENTED)
  createConversation(@CurrentUser() user: AuthUser, @Body() dto: CreateThreadDto): Promise<ConversationDto> {
    return this.gateway.createConversation(user, dto);
  }

  @Get('conversations/:id')
  @Scopes('threads:read')
  @ApiOperation({ operationId: 'getConversation', summary: "A conversation's metadata (PERSIST_TRANSCRIPTS; 501 when off)" })
  @ApiResponse({ status: 200, type: ConversationDto })
  @ApiOpenAIErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.NOT_IMPLEMENTED)
  getConversation(@CurrentUser() user: AuthUser, @Param() params: IdParamDto): Promise<ConversationDto> {
    return this.gateway.conversation(user, params.id);
  }
}
