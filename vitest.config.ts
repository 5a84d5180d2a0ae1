import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@hangar/client/node': fileURLToPath(new URL('./packages/client/src/node.ts', import.meta.url)),
      '@hangar/core/bundle': fileURLToPath(new URL('./packages/core/src/bundle-pack.ts', import.meta.url)),
      '@hangar/core': src('core'),
      '@hangar/client': src('client'),
      '@hangar/server': src('server'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    globalSetup: ['./test/fal-openapi.global-setup.ts', './test/engines.global-setup.ts'],
    // The AWS SDK warns once per process that its releases after January 2027 need Node 22; the pinned
    // release runs on Node 20, and the warning would only repeat in every test process that uses S3.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
