import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS, FAL_ERROR_TYPES } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV, CONFIG_FLAGS, ConfigFileSchema } from './config.js';

const docs = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url)), 'utf8');

/** What a record's keys stand for in the docs (`discounts.<owner>`). */
const RECORD_KEY: Record<string, string> = {
  machine_types: '<name>',
  discounts: '<owner>',
  storage_quotas: '<owner>',
};

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
}

/** Dotted paths of every leaf option of the config file schema. */
function leafPaths(node: SchemaNode, prefix = ''): string[] {
  if (node.properties) {
    return Object.entries(node.properties).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  const [value] = Object.values(node.patternProperties ?? {});
  if (value) return leafPaths(value, `${prefix}.${RECORD_KEY[prefix] ?? '<key>'}`);
  return [prefix];
}

describe('docs/config.md', () => {
  const text = docs('config.md');

  it('documents every config file key', () => {
    const paths = leafPaths(ConfigFileSchema as SchemaNode);
    expect(paths).toContain('limits.rate_limit.burst');
    expect(paths).toContain('machine_types.<name>.unit_price');
    expect(paths.filter((p) => !text.includes(`\`${p}\``))).toEqual([]);
  });

  it('documents every environment variable and flag', () => {
    expect([...CONFIG_ENV, ...CONFIG_FLAGS].filter((name) => !text.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  it('lists exactly the codes of the registry, with their status and type', () => {
    const rows = docs('errors.md')
      .split('\n')
      .map((line) =>
        /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|\s*(.*?)\s*\|\s*$/.exec(line),
      )
      .filter((m): m is RegExpExecArray => m !== null);
    const documented = Object.fromEntries(rows.map((m) => [m[1], { status: Number(m[2]), type: m[3] }]));
    const registry = Object.fromEntries(
      Object.entries(ERRORS).map(([code, spec]) => [code, { status: spec.status, type: spec.type }]),
    );
    expect(rows.length).toBe(new Set(rows.map((m) => m[1])).size);
    expect(documented).toEqual(registry);
    expect(rows.filter((m) => (m[4] ?? '').length === 0).map((m) => m[1])).toEqual([]);
  });
});

describe('docs/errors.md, gateway errors', () => {
  it("lists exactly the fal error_type table, with each code's status", () => {
    const rows = docs('errors.md')
      .split('\n')
      .map((line) => /^\|\s*`([a-z_]+)`\s*\|\s*([\d, ]+?)\s*\|\s*(.*?)\s*\|\s*$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null);
    const documented: Record<string, string> = {};
    for (const [, type, statuses, codes] of rows) {
      for (const [, code] of (codes ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)) {
        documented[code!] = type!;
        const status = ERRORS[code as keyof typeof ERRORS].status;
        expect(statuses!.split(/,\s*/).map(Number)).toContain(status);
      }
    }
    expect(documented).toEqual(FAL_ERROR_TYPES);
  });
});
