# berth's image: one image for every role. With no arguments it runs the all-in-one registry
# on the config at /etc/docker/registry/config.yml (registry:2's path); `serve --service NAME
# CONFIG` runs one service (docker-compose.yml). Node.js 20 is past its end of life: the image
# is built on a current LTS line (the code runs on >= 20.19; --build-arg NODE_IMAGE picks another).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@12.4.2
WORKDIR /src
# Dependencies first, from the lockfile alone: this layer is rebuilt only when the lock changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
 && pnpm build \
 && pnpm --filter @berth/cli deploy --prod /app

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
COPY config/docker.yml /etc/docker/registry/config.yml
# Owned by the user berth runs as, so that a new named volume mounted here is writable.
RUN mkdir -p /var/lib/registry && chown node:node /var/lib/registry
USER node
VOLUME /var/lib/registry
EXPOSE 5000
# For `docker run`: the all-in-one answers GET /v2/ as the gateway does (compose sets its own).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
  CMD ["node", "/app/dist/main.js", "probe", "--service", "gateway", "/etc/docker/registry/config.yml"]
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["serve", "/etc/docker/registry/config.yml"]
