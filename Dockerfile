# berth's image: built on a current Node.js LTS, runs the all-in-one default or one service.
FROM node:22-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build && pnpm deploy --filter @berth/cli --prod /app

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
COPY config/docker.yml /etc/docker/registry/config.yml
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["serve", "/etc/docker/registry/config.yml"]
