import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from './app.config';

export interface BuildInfo {
  version: string;
  buildTime: string | null;
  commit: string | null;
}

/** package.json version, plus dist/build-info.json written by `npm run build`; env wins. */
export function readBuildInfo(config: AppConfig): BuildInfo {
  const root = join(__dirname, '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const file = join(__dirname, '..', 'build-info.json');
  const built = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<BuildInfo>) : {};
  return {
    version: pkg.version,
    buildTime: config.BUILD_TIME ?? built.buildTime ?? null,
    commit: config.GIT_COMMIT ?? built.commit ?? null,
  };
}
