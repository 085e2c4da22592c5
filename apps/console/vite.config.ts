import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // echarts + react land in one entry chunk (~270 KB gz); the real budget (≤ 400 KB gz total) is checked by bench/console.ts.
    chunkSizeWarningLimit: 1_000,
  },
  server: {
    proxy: { '/trpc': 'http://127.0.0.1:7070' },
  },
});
