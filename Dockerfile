# syntax=docker/dockerfile:1
# Node 22 LTS (the supported version; Parley also runs on Node 20.19+), Debian bookworm (glibc).
# No Docker engine where this repository is built: `npm run deploy:check` lints this file and
# checks the rules below (stages, what the runtime stage copies, user, healthcheck, command).

# --- build: full dependencies, generated Prisma client and Swagger metadata, compiled dist
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# postinstall generates the Prisma client into src/infra/database/generated (compiled into dist).
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY src ./src
ARG GIT_COMMIT
ENV GIT_COMMIT=${GIT_COMMIT}
RUN npm run build

# --- deps: production dependencies only, without install scripts (the Prisma client is
# generated in the build stage and compiled into dist).
# --omit=optional as well: the Prisma CLI, its engines and TypeScript are optional peers of
# @prisma/client, which npm would otherwise install (about 250 MB); migrations are applied by
# dist/infra/database/migrator.ts, not by the Prisma CLI. (msgpackr then uses its JavaScript
# encoder instead of the optional native one; pg-cloudflare is for Cloudflare Workers.)
# argon2 is then built from source against the image's own Node headers: its prebuilt binary
# was seen to crash at require() on Debian 12, and a rebuild fixed it. The compiler stays in
# this stage; the runtime image gets only node_modules.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 --build-from-source \
 && rm -rf node_modules/argon2/build/Release/obj.target node_modules/argon2/build/Release/.deps \
 && node -e "require('argon2')" \
 && npm cache clean --force

# --- runtime: non-root, no build tooling, no secrets baked in (give JWT_SECRET,
# ENCRYPTION_KEY, DATABASE_URL at run time). Only what dist/main.js reads: dist (with the
# generated Prisma client and the model catalog), production node_modules, package.json
# (version) and prisma/migrations (read by the migrator, ../../../prisma/migrations from dist).
FROM node:22-bookworm-slim AS runtime
# HOST: outside production Parley binds 127.0.0.1 by default; a container must listen on all interfaces.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Owned by root and read-only for the app user; with DATABASE_URL set nothing is written under
# /app, so the root filesystem can be mounted read-only (deploy/kubernetes/deployment.yaml).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma/migrations ./prisma/migrations
# Embedded database only (no DATABASE_URL): owner-only, it holds every conversation (a new
# named volume copies this mode).
RUN install -d -m 0700 -o node -g node /app/data
# The image's `node` user, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health/live',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
# On SIGTERM readiness answers 503 for SHUTDOWN_DELAY_MS while serving, then running answers
# get SHUTDOWN_GRACE_MS: give the container more than both + 5 s to stop (docker stop -t 30).
STOPSIGNAL SIGTERM
# Migrations: `docker run … node dist/infra/database/migrate.cli.js` (= npm run db:migrate),
# once per release before the new replicas start (or MIGRATE_ON_START=true for one replica).
CMD ["node", "dist/main.js"]
