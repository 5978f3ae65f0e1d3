// What the systems under test logged while measured: warnings and errors, counted by message.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const PINO_LEVELS = { 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * Lines of a log file that tell of trouble: pino JSON lines at warn or above (Parley), and
 * any other line that mentions an error (Portkey's console output, crashes). Returns one
 * note per distinct message, most frequent first, or a single "nothing" note.
 */
export async function summarizeLogs(label, path) {
  const seen = new Map();
  let total = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    let message;
    try {
      const entry = JSON.parse(line);
      if (entry.level >= 40) message = `${PINO_LEVELS[entry.level] ?? entry.level}: ${entry.msg ?? entry.err?.message ?? line.slice(0, 160)}`;
    } catch {
      if (/error|exception|fail/i.test(line)) message = line.trim().slice(0, 160);
    }
    if (!message) continue;
    total++;
    seen.set(message, (seen.get(message) ?? 0) + 1);
  }
  if (!total) return [`log of ${label}: no warnings or errors`];
  const top = [...seen].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return [`log of ${label}: ${total} warning/error lines (${path}); most frequent: ${top.map(([m, n]) => `${n}× "${m}"`).join('; ')}`];
}
