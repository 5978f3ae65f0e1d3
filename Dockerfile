# syntax=docker/dockerfile:1
# Node 22 LTS (the supported version; Parley also runs on Node 20.19+), Debian bookworm (glibc).

# --- build: full dependencies, generated Prisma client and Swagger metadata, compiled dist
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# npm install, not npm ci: the lockfile lists other platforms' optional native packages,
# which make `npm ci` fail here; npm install skips them and still follows the lockfile.
RUN npm install --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY src ./src
ARG GIT_COMMIT
ENV GIT_COMMIT=${GIT_COMMIT}
RUN npm run build

# --- deps: production dependencies only. --ignore-scripts is safe: argon2 ships N-API
# prebuilt binaries (linux-x64 and arm64, glibc) that load on any Node version, so nothing
# is compiled; the Prisma client is generated in the build stage and compiled into dist.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: non-root, no secrets baked in (give JWT_SECRET, ENCRYPTION_KEY, DATABASE_URL at run time)
FROM node:22-bookworm-slim AS runtime
# HOST: outside production Parley binds 127.0.0.1 by default; a container must listen on all interfaces.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma/migrations ./prisma/migrations
# Owner-only: the embedded database holds every conversation (a new named volume copies this mode).
RUN install -d -m 0700 -o node -g node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health/live',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
# Migrations: `docker run … node dist/infra/database/migrate.cli.js` (or MIGRATE_ON_START=true).
CMD ["node", "dist/main.js"]
