// Generates src/schema.d.ts from the repository's openapi.json with openapi-typescript.
// `--check` writes nothing: it fails when the committed file differs from a fresh one
// (the spec changed and the client was not regenerated).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const spec = join(root, '../../openapi.json');
const committed = join(root, 'src/schema.d.ts');
const check = process.argv.includes('--check');

const dir = mkdtempSync(join(tmpdir(), 'parley-schema-'));
try {
  const fresh = join(dir, 'schema.d.ts');
  // --default-non-nullable false: a property with a default (e.g. SendMessageDto.stream) stays optional in request bodies.
  execFileSync(process.execPath, [join(root, 'node_modules/openapi-typescript/bin/cli.js'), spec, '--default-non-nullable', 'false', '--output', fresh], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const generated = readFileSync(fresh, 'utf8');
  if (!check) {
    writeFileSync(committed, generated);
    console.log('wrote src/schema.d.ts from openapi.json');
  } else {
    let current = '';
    try {
      current = readFileSync(committed, 'utf8');
    } catch {}
    if (current !== generated) {
      const a = current.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      console.error(`src/schema.d.ts is stale: openapi.json changed (first difference at line ${line + 1}):`);
      console.error(`  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`);
      console.error('Run `npm run generate` in clients/typescript, fix what no longer compiles, and commit both.');
      process.exit(1);
    }
    console.log('src/schema.d.ts matches openapi.json');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
