# syntax=docker/dockerfile:1
# Build: compile TypeScript and the better-sqlite3 native module with the full toolchain.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The bridge only: the benchmarks (bench/) and the conformance runner (scripts/) stay out of the image.
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run: the compiled bridge and production dependencies only, as a non-root user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY mappings ./mappings
RUN mkdir -p /data && chown node:node /data
USER node
# HOST and PORT win over server.host / server.port in a config file too, so the image serves on every
# interface whatever the file says; mount the config and point SCIM_BRIDGE_CONFIG at it.
ENV SCIM_BRIDGE_DATA=/data HOST=0.0.0.0 PORT=8080
EXPOSE 8080
VOLUME ["/data"]
# Asks /healthz where the config and HOST / PORT say the bridge listens (HTTPS too when server.tls is set).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/cli.js", "healthcheck"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
