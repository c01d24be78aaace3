# One image, every mode: docker run IMAGE web | worker | all | migrate | setup-flags
ARG NODE_VERSION=24

# Build stage: compile native modules (better-sqlite3) and the TypeScript.
FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY service/src service/src
RUN npm run build
# typescript stays after the prune only because a dependency (valibot, under
# bull-board) names it as an optional peer; nothing at run time needs it.
RUN npm prune --omit=dev --no-audit --no-fund && rm -rf node_modules/typescript
# better-sqlite3 keeps SQLite's sources and some 25 MB of build intermediates
# beside the one file it loads at run time.
RUN cd node_modules/better-sqlite3 \
  && mv build/Release/better_sqlite3.node . \
  && rm -rf build deps src \
  && mkdir -p build/Release \
  && mv better_sqlite3.node build/Release/

# Runtime stage: production dependencies and compiled code only.
FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="mail-worker" \
      org.opencontainers.image.description="Bulk test mails through BullMQ queues: a background-job playground for Kubernetes" \
      org.opencontainers.image.source="https://github.com/mail-worker-k8s/mail-worker-k8s" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 1001 app \
  && useradd --system --uid 1001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
  && mkdir -p /data \
  && chown app:app /data
WORKDIR /app
ENV NODE_ENV=production \
    APP_VERSION=${VERSION} \
    DATABASE_URL=file:/data/mail-worker.sqlite \
    FLAGS_FILE=/data/flags.json \
    UNLEASH_BACKUP_PATH=/tmp
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/service/dist service/dist
COPY service/views service/views
COPY service/public service/public
# Writes go only to /tmp and /data, so the root filesystem can be read-only.
USER 1001:1001
VOLUME ["/data"]
EXPOSE 3000
# Web and worker both answer /healthz on PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "service/dist/main.js"]
CMD ["web"]
