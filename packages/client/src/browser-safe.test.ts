import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
const IMPORT = /(?:import|export)[^'"]*from\s+'([^']+)'/g;

/** Every module the browser entry reaches, by relative imports. */
function moduleGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const [, spec = ''] of text.matchAll(IMPORT)) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(entry);
  return seen;
}

describe('browser entry', () => {
  it('reaches no Node built-in and no Node global', () => {
    const graph = moduleGraph(join(SRC, 'index.ts'));
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, text] of graph) {
      for (const [, spec = ''] of text.matchAll(IMPORT)) {
        expect(
          spec.startsWith('node:') || (!spec.startsWith('.') && !spec.startsWith('@hangar/')),
          `${file}: ${spec}`,
        ).toBe(false);
      }
      expect(/\b(process|Buffer|require)\s*[.(]/.test(text), file).toBe(false);
    }
    expect([...graph.keys()].some((f) => f.endsWith('node.ts'))).toBe(false);
  });
});
