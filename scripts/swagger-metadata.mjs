#!/usr/bin/env node
// Writes src/metadata.ts with the @nestjs/swagger plugin's view of our DTOs and
// controllers. tsc builds get it from the compiler plugin too, but jest (swc) does not
// run compiler plugins: app.setup.ts loads this file so tests and builds document alike.
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const options = JSON.parse(readFileSync('nest-cli.json', 'utf8')).compilerOptions.plugins.find(
  (p) => p.name === '@nestjs/swagger',
).options;
const target = 'src/metadata.ts';
// The generator imports a stale file too; start from an empty one.
if (!existsSync(target)) writeFileSync(target, 'export default async () => ({});\n');
new PluginMetadataGenerator().generate({
  visitors: [new ReadonlyVisitor({ ...options, pathToSource: new URL('../src', import.meta.url).pathname })],
  outputDir: './src',
  tsconfigPath: 'tsconfig.json',
  printDiagnostics: false,
});
