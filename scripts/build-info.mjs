#!/usr/bin/env node
// Records build time and commit in dist/build-info.json for GET /api/version.
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

let commit = process.env.GIT_COMMIT ?? null;
if (!commit) {
  try {
    commit = execSync('git rev-parse --short=12 HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = null; // not a git checkout (e.g. a Docker build context without .git)
  }
}
mkdirSync('dist', { recursive: true });
writeFileSync('dist/build-info.json', JSON.stringify({ buildTime: new Date().toISOString(), commit }, null, 2) + '\n');
