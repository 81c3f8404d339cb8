# syntax=docker/dockerfile:1
# One image for every Vigil service. Each service runs its own `start` script from its
# package.json (`node dist/main.js`) in its own directory: the build arg VIGIL_APP picks the
# default one, and docker-compose / Kubernetes pick theirs with the working directory
# (/app/apps/<app>), so the same image serves all eight containers.
#
#   docker build -t vigil .                          # default service: orchestrator
#   docker build --build-arg VIGIL_APP=ingest -t vigil-ingest .
#   docker run -w /app/apps/verifier vigil           # any service from the one image

ARG NODE_IMAGE=node:20-slim

# 1. Everything installed (compilers included), every service compiled to dist/.
FROM ${NODE_IMAGE} AS build
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true CI=true
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund
RUN npx nx run-many -t build --projects=ingest,orchestrator,investigator,memory,reasoner,executor,verifier,approver --parallel=2
# Only what runs stays: development dependencies, sources and tests go.
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf .nx tmp bench examples deploy k8s terraform \
 && find apps libs -type d \( -name test -o -name src \) -prune -exec rm -rf {} +

# 2. The runtime: Node, the compiled services, their migrations and starter runbooks; no compiler,
#    no package manager cache, a non-root user, nothing writable but /tmp.
FROM ${NODE_IMAGE} AS runtime
ARG VIGIL_APP=orchestrator
ENV NODE_ENV=production \
    VIGIL_APP=${VIGIL_APP}
COPY --from=build --chown=root:root /app /app
# The image's own unprivileged user (uid 1000 in the node images), named for Kubernetes' runAsNonRoot.
USER 1000:1000
WORKDIR /app/apps/${VIGIL_APP}
EXPOSE 7401 7402 7403 7404 7405 7406 7407 7408
# Each app's package.json has exactly this as its `start` script (checked by deploy/ in CI).
# Exec form: node is PID 1's only child under `init: true` and gets SIGTERM directly.
CMD ["node", "dist/main.js"]
