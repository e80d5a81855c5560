# The one image for `automq standalone`, `automq broker` and `automq operator`.
#
#   docker build -t automq-ts:0.1.0 .
#   docker run --rm -p 9092:9092 -p 9464:9464 automq-ts:0.1.0          # standalone broker
#   docker run --rm automq-ts:0.1.0 operator --help
#
# The tag is the one the Helm chart (image.repository + appVersion) and examples/ use.
# This repository's CI has no container engine (no Docker daemon, buildah or kaniko), so the
# image is not built there; test/unit/operator/dockerfile.test.ts checks this file statically
# (COPY sources exist and are not dockerignored, the entrypoint is what `npm run build` emits,
# numeric non-root user, exposed ports = the broker's defaults, tag = chart and examples).
# hack/kind-e2e.sh builds and runs it on a machine with Docker.

# --- build: compile the TypeScript with the dev dependencies ---
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only package that has one (lz4) is a test-only dev dependency.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY broker ./broker
COPY operator ./operator
RUN npm run build

# --- runtime: Node, production dependencies and the compiled broker and operator only ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/broker ./dist/broker
COPY --from=build /app/dist/operator ./dist/operator
# Data dir for standalone runs (a cache only; the broker keeps nothing it cannot rebuild).
# In Kubernetes the operator mounts emptyDirs and the root filesystem can stay read-only.
RUN mkdir -p /data && chown 1000:1000 /data
# Numeric uid ("node" in the base image): runAsNonRoot can only verify a numeric user.
USER 1000:1000
# Defaults for `docker run -p 9092:9092 ...` of the standalone broker; flags win over these,
# and the operator passes --listen/--advertise/--data-dir explicitly. Clients outside the host
# need -e AUTOMQ_ADVERTISE=<reachable host>:9092.
ENV AUTOMQ_LISTEN=0.0.0.0:9092 \
    AUTOMQ_ADVERTISE=localhost:9092 \
    AUTOMQ_DATA_DIR=/data
# Kafka, Prometheus /metrics
EXPOSE 9092 9464
ENTRYPOINT ["node", "dist/broker/src/cli/main.js"]
CMD ["standalone"]
