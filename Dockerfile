# syntax=docker/dockerfile:1
# Build stage: install production dependencies only (Leadline runs TypeScript directly on Node 24).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force

FROM node:24-slim AS runtime
ENV NODE_ENV=production LEADLINE_DATA_DIR=/data PORT=3000
WORKDIR /app
RUN groupadd --system leadline && useradd --system --gid leadline --home /app leadline \
  && mkdir -p /data && chown leadline:leadline /data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY migrations ./migrations
COPY rules ./rules
COPY manifest.yml* ./
USER leadline
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "src/main.ts"]
