import { Message } from '../../infra/database/generated/client';
import { CatalogEntry } from '../models/models.dto';
import { TokenCounter } from '../models/token-counter';
import { SummarizationService } from '../summarization/summarization.service';
import { ContextBuilder } from './context-builder';

const entry = { id: 'gpt', contextLength: 8000, maxOutputTokens: 500 } as CatalogEntry;
const tokens = { countMessage: async () => 5, storedMessage: async () => 5 } as unknown as TokenCounter;

/** History oldest first, as the thread shows it; the last one is the new user message. */
function builderFor(history: Array<Pick<Message, 'role' | 'content'> & Partial<Pick<Message, 'images'>>>) {
  const recent = history.map((m, i) => ({ images: null, ...m, id: String(i), tokens: 5 }) as Message).reverse();
  // The newest is the message being sent: not stored yet when the context is built.
  const [newMessage, ...stored] = recent;
  const summaries = { contextOf: async () => ({ summary: null, recent: stored }) } as unknown as SummarizationService;
  return { builder: new ContextBuilder(summaries, tokens), newMessage: { content: newMessage.content, tokens: newMessage.tokens } };
}

describe('ContextBuilder', () => {
  it('never sends two user turns in a row: a question whose answer is missing or empty is left out with it', async () => {
    const { builder, newMessage } = builderFor([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2, its answer died with its server' },
      { role: 'user', content: 'q3, its answer failed before any text' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'q4' },
      { role: 'assistant', content: 'a4, interrupted but with text' },
      { role: 'user', content: 'q5' },
    ]);
    const { messages } = await builder.build('t', entry, '', newMessage);
    expect(messages.map((m) => `${m.role}:${m.content.split(',')[0]}`)).toEqual(['user:q1', 'assistant:a1', 'user:q4', 'assistant:a4', 'user:q5']);
  });

  it("keeps the images of earlier user messages and adds the new message's", async () => {
    const png = { mediaType: 'image/png', data: 'iVBORw0KGgo=' };
    const jpeg = { mediaType: 'image/jpeg', data: '/9j/4A==' };
    const { builder, newMessage } = builderFor([
      { role: 'user', content: 'what is this?', images: [png] },
      { role: 'assistant', content: 'a dot' },
      { role: 'user', content: 'and this?' },
    ]);
    const { messages } = await builder.build('t', entry, '', { ...newMessage, images: [jpeg] });
    expect(messages).toEqual([
      { role: 'user', content: 'what is this?', images: [png] },
      { role: 'assistant', content: 'a dot' },
      { role: 'user', content: 'and this?', images: [jpeg] },
    ]);
  });
});
