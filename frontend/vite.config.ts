import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

// Built into the Python package, served by omnidesk at /app (omnidesk/web/spa.py).
export default defineConfig({
  base: "/app/",
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL("../omnidesk/web/static/app", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts"],
  },
});
