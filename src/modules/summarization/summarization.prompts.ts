/**
 * The instructions the summarization jobs send as the system message. Shared with the
 * offline demo model, which recognises them and answers in kind (a title, a summary)
 * instead of its canned sentence.
 */
export const SUMMARY_INSTRUCTIONS =
  'You maintain the running summary of a conversation between a user and an assistant. ' +
  'Write one summary, 300 to 700 tokens, that merges the previous summary with the new messages: ' +
  'keep facts, decisions, names, numbers and open questions; drop small talk. Answer with the summary only.';

export const TITLE_INSTRUCTIONS = 'Write a title of at most six words for a conversation that starts with the message below. Answer with the title only, no quotes.';

/** The words a title has at most. */
export const TITLE_MAX_WORDS = 6;
