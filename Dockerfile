# syntax=docker/dockerfile:1
# The gateway as a container: `docker compose up` (docker-compose.yml) runs it next to Kafka and
# PostgreSQL. Two stages, so the image holds the compiled JavaScript, the reports page and production
# dependencies only, not TypeScript, Nest's CLI or the test tooling. test/container.e2e-spec.ts lays
# out the runtime stage's files as these lines do and runs its CMD with the compose environment.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first: this layer is reused until package*.json changes. client/ is an npm
# workspace (the browser client package), so its package.json is part of the install.
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY client ./client
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json ./client/
# Optional packages are left out: the only one in the production tree, pg-cloudflare, is loaded by
# pg on Cloudflare Workers only.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The client's browser build, served at /client/index.js.
COPY --from=build /app/client/dist/browser ./client/dist/browser
# The reports page at /: dist/ serves it from ../public.
COPY public ./public
USER node
EXPOSE 3000
# Liveness only (/health answers while the process does); /health/ready also checks the bus.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The node flags of `npm start` (package.json): a young generation of at most 8 MB per semi-space instead of
# Node 24's 32 MB, which idle streams otherwise pay for in RSS (docs/benchmarks.md, "Memory per stream").
CMD ["node", "--max-semi-space-size=8", "dist/main.js"]
