# syntax=docker/dockerfile:1
# The bq-sftp worker. Built by docker-compose.yml; the config is mounted at /app/configs.
# Stage 1 compiles the TypeScript (npm run build → dist/) and bundles the workflow code once, so
# the image never runs tsx or webpack; stage 2 holds production dependencies and dist/ only.
FROM node:20-bookworm-slim AS build

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && node -e "require('./dist/temporal/workflow-bundle').workflowBundlePath().then(console.log)"

FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first so this layer is cached while only the source changes; no dev dependencies.
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-save --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY --from=build /app/dist ./dist
# the workflow bundle made in stage 1 (keyed on dist/, the lock file and the SDK version, so it
# matches); owned by the user the worker runs as, which writes a new bundle there if it must
COPY --from=build --chown=node:node /app/.cache ./.cache

# Memory: one malloc arena and 1 MiB semi-spaces took the worker's peak RSS in a 1 GiB transfer
# from 249 MB to ~195 MB at the same speed; 144 MB in a `worker --only activities` process
# (npm run bench -- --only P1 --lean [--split]; README "Speed"). With 1 MiB semi-spaces more garbage
# is promoted: the next full collection at +30 % of what survived (the worker's default is 60 %)
# took bench P8's lean split from 204 to 196 MB, as bin/lean-worker.js sets it.
# No METADATA_SERVER_DETECTION here: on Cloud Run / GKE the metadata server is where the service's
# own identity (workload identity) comes from. The local stack sets it (docker-compose.yml).
ENV NODE_ENV=production \
    CONFIG_PATH=/app/configs/exports.json \
    BQSFTP_CACHE_DIR=/app/.cache \
    MALLOC_ARENA_MAX=1 \
    BQSFTP_HEAP_GROWING_PERCENT=30 \
    NODE_OPTIONS=--max-semi-space-size=1

USER node

# SIGTERM (docker stop) → graceful worker shutdown: running transfers are cancelled and clean up.
STOPSIGNAL SIGTERM
CMD ["node", "bin/bq-sftp.js", "worker"]
