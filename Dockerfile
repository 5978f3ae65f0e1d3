# syntax=docker/dockerfile:1
# Node 22 LTS (the supported version; Parley also runs on Node 20.19+), Debian bookworm (glibc).

# --- build: full dependencies, generated Prisma client and Swagger metadata, compiled dist
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY src ./src
ARG GIT_COMMIT
ENV GIT_COMMIT=${GIT_COMMIT}
RUN npm run build

# --- deps: production dependencies only, without install scripts (the Prisma client is
# generated in the build stage and compiled into dist). argon2 is then built from source:
# its prebuilt binary was seen to crash at require() on Debian 12, and a rebuild fixed it.
# The compiler stays in this stage; the runtime image gets only node_modules.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 --build-from-source \
 && node -e "require('argon2')" \
 && npm cache clean --force

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
