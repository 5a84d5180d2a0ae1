import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { CliError, EXIT } from './output.js';

/** Commander parser collecting a repeatable option, also splitting comma lists: `-x a,b -x c`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** Commander parser collecting a repeatable option as is. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Commander parser for a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** Commander parser for one of a fixed set of values. */
export function oneOf<T extends string>(values: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };
}

/** Reads `--input`: inline JSON, `@file` for a JSON file, `@-` for standard input. */
export function readJsonInput(value: string | undefined): unknown {
  if (value === undefined) return {};
  let text = value;
  let source = '--input';
  if (value.startsWith('@')) {
    source = value === '@-' ? 'standard input' : value.slice(1);
    try {
      text = readFileSync(value === '@-' ? 0 : value.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${source}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not valid JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

/** An `owner/app` argument, checked. */
export function appArg(value: string): string {
  const parts = value.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new InvalidArgumentError(`expected OWNER/APP, got "${value}"`);
  }
  return value;
}

/** An `OWNER/APP[/ROUTE]` argument, checked. */
export function endpointArg(value: string): string {
  const parts = value.replace(/^\/+/, '').split('/');
  if (parts.length < 2 || !parts[0] || !parts[1]) {
    throw new InvalidArgumentError(`expected OWNER/APP or OWNER/APP/ROUTE, got "${value}"`);
  }
  return value;
}
