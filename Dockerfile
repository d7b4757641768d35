# Authorisation gateway image: multi-stage, production dependencies only, non-root, health-checked.
# Not built on the project's own machines (no Docker engine runs there); see README, "Docker".
#
# Debian (glibc), not Alpine: uWebSockets.js ships a native binary built against glibc, and the
# gateway refuses to start on its slow JS fallback.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
COPY package.json ./
# The embedded decision log writes under var/; give the unprivileged user that folder only.
RUN mkdir -p /app/var && chown node:node /app/var
USER node
# In a container the HTTP side and the link must listen beyond loopback; put them behind the
# network policy that the scheme link and the scrape need, never on the open internet.
ENV GATEWAY_HTTP_HOST=0.0.0.0 GATEWAY_LINK_HOST=0.0.0.0
EXPOSE 8080 8583
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
