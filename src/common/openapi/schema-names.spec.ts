import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/**
 * OpenAPI schema names are class names (or @ApiSchema's name): two swagger-visible classes
 * with one name make @nestjs/swagger keep only one of them, silently retyping every
 * reference to the other (auth's `{message}` once replaced the chat message). Every DTO
 * class of the app must own its schema name.
 */

const SRC = join(__dirname, '..', '..');
const PROPERTIES = 'swagger/apiModelPropertiesArray';
const SCHEMA = 'swagger/apiSchema';

type Class = abstract new (...args: never[]) => unknown;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

/** A class the swagger plugin (`*.dto.ts`) or an @ApiProperty makes a schema of. */
function isSwaggerModel(value: unknown, dtoFile: boolean): value is Class {
  if (typeof value !== 'function' || !/^class\b/.test(Function.prototype.toString.call(value))) return false;
  return dtoFile || Reflect.hasMetadata(PROPERTIES, (value as { prototype: object }).prototype);
}

export function schemaNameOf(model: Class): string {
  const schemas = (Reflect.getOwnMetadata(SCHEMA, model) as Array<{ name?: string }> | undefined) ?? [];
  return schemas[schemas.length - 1]?.name ?? model.name;
}

/** Names shared by different classes, with where each class comes from. */
export function schemaNameClashes(models: Array<{ model: Class; from: string }>): string[] {
  const byName = new Map<string, Map<Class, string>>();
  for (const { model, from } of models) {
    const name = schemaNameOf(model);
    const owners = byName.get(name) ?? new Map<Class, string>();
    if (!owners.has(model)) owners.set(model, from);
    byName.set(name, owners);
  }
  return [...byName.entries()].filter(([, owners]) => owners.size > 1).map(([name, owners]) => `${name}: ${[...owners.values()].join(', ')}`);
}

describe('OpenAPI schema names', () => {
  it('no two DTO classes share a schema name', async () => {
    const models: Array<{ model: Class; from: string }> = [];
    const files = sourceFiles(SRC).filter((f) => f.endsWith('.dto.ts') || /@Api(Property|Schema)/.test(readFileSync(f, 'utf8')));
    for (const file of files) {
      const exports = (await import(file)) as Record<string, unknown>;
      for (const value of Object.values(exports)) if (isSwaggerModel(value, file.endsWith('.dto.ts'))) models.push({ model: value, from: relative(SRC, file) });
    }
    expect(models.length).toBeGreaterThan(50);
    expect(schemaNameClashes(models)).toEqual([]);
  });

  it('catches two classes of one name, and honours @ApiSchema renames', () => {
    const a = class MessageDto {};
    const b = class MessageDto {};
    ApiProperty()(a.prototype, 'message');
    expect(schemaNameClashes([{ model: a, from: 'auth.dto.ts' }, { model: b, from: 'messages.dto.ts' }])).toEqual(['MessageDto: auth.dto.ts, messages.dto.ts']);
    ApiSchema({ name: 'ChatMessageDto' })(b);
    expect(schemaNameClashes([{ model: a, from: 'auth.dto.ts' }, { model: b, from: 'messages.dto.ts' }])).toEqual([]);
  });
});
