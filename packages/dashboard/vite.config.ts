import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running server (HANGAR_URL, default the CLI's default address).
const target = process.env['HANGAR_URL'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: { '/v1': target, '/run': target, '/queue': target },
  },
});
