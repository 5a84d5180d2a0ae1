import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import { IMAGE_REFERENCE_MAX, imageReferenceProblem, parseManifest } from './manifest.js';

const TYPES = ['CPU'];
const DIGEST = `sha256:${'a1'.repeat(32)}`;

function problem(json: Record<string, unknown>): string {
  try {
    parseManifest({ name: 'img', machine_type: 'CPU', ...json }, TYPES);
  } catch (err) {
    if (err instanceof PlatformError && err.code === 'MANIFEST_INVALID') return err.message;
    throw err;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('image apps in hangar.json', () => {
  it('accepts an image with a tag or a digest, with or without a command', () => {
    const m = parseManifest({ name: 'img', machine_type: 'CPU', image: 'ghcr.io/acme/echo:1.2' }, TYPES);
    expect(m.image).toBe('ghcr.io/acme/echo:1.2');
    expect(m.command).toBeUndefined();
    const withCommand = parseManifest(
      { name: 'img', machine_type: 'CPU', image: `acme/echo@${DIGEST}`, command: ['python', 'serve.py'] },
      TYPES,
    );
    expect(withCommand.command).toEqual(['python', 'serve.py']);
  });

  it('requires a command or an image', () => {
    expect(problem({})).toBe('hangar.json: command is required (or image, for an image app)');
  });

  it.each([
    'python:3.12-slim',
    'localhost:5000/team/app:v1',
    'registry.example.com/a/b/c:latest',
    `registry.example.com:443/team/app:1@${DIGEST}`,
    `app@${DIGEST}`,
    'my_org/app-name__x:tag.with-dots_1',
  ])('accepts %s', (ref) => {
    expect(imageReferenceProblem(ref)).toBeNull();
  });

  it.each([
    ['no tag or digest', 'ghcr.io/acme/echo', /tag .* or a digest/],
    ['upper case in the name', 'ghcr.io/Acme/echo:1', /image reference/],
    ['whitespace', 'acme/echo:1 --privileged', /image reference/],
    ['a leading dash (read as an option)', '--privileged', /image reference/],
    ['shell characters', 'acme/echo:1;rm', /image reference/],
    ['command substitution', 'acme/$(id):1', /image reference/],
    ['a short digest', 'acme/echo@sha256:abc', /image reference/],
    ['another digest algorithm', `acme/echo@sha512:${'a'.repeat(128)}`, /image reference/],
    ['a tag longer than 128', `acme/echo:${'t'.repeat(129)}`, /image reference/],
    ['a newline', 'acme/echo:1\n', /image reference/],
    ['an empty path component', 'acme//echo:1', /image reference/],
  ])('refuses %s', (_why, ref, expected) => {
    expect(imageReferenceProblem(ref)).toMatch(expected);
    expect(problem({ image: ref })).toMatch(/^hangar\.json: image (must|is)/);
  });

  it('caps the length of the reference and of its name', () => {
    const long = `registry.example.com/${'a'.repeat(IMAGE_REFERENCE_MAX)}:1`;
    expect(problem({ image: long })).toMatch(/^hangar\.json: image must .*512 characters/);
    expect(imageReferenceProblem(`${'a'.repeat(256)}:1`)).toMatch(/255/);
  });
});
