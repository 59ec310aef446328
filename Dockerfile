# syntax=docker/dockerfile:1
# Latchkey: built in one stage (dev dependencies, tsc, vite), run in another with production
# dependencies and compiled JavaScript only, as a non-root user.
#   docker build -t latchkey .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://… -e SECRET=… latchkey

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image's own Node 24 runs everything (the `node` devDependency's download is
# skipped), and the tools are called by path so no node_modules/.bin shim stands in for it.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
COPY console ./console
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node node_modules/vite/bin/vite.js build --config console/vite.config.ts \
 && node -e "require('node:fs').writeFileSync('dist/.built', new Date().toISOString())"

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY package.json ./
COPY bin ./bin
# The embedded database and a generated SECRET live in DATA_DIR when DATABASE_URL / SECRET are unset.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# /readyz answers 200 once the database answers (503 while it does not); node:24-slim has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Operators: `docker run … latchkey node bin/latchkey.js doctor` (the CLI runs the same compiled code).
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
