# A wfn host image: `wfn serve` as a non-root user, nothing written outside
# its volumes (deploy/kubernetes runs it with a read-only root filesystem).
#   docker build -t wfn:local .
#   docker run --rm -p 8787:8787 -e WFN_STORE=postgres://... -e WFN_ADMIN_KEYS=... wfn:local
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
# The workspaces' dependencies, the TypeScript build, then only what runs.
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npx tsc -b \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf test bench examples/*/.wfn .wfn

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    WFN_CACHE_DIR=/var/cache/wfn \
    WFN_STATE_DIR=/var/lib/wfn/state
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /var/cache/wfn /var/lib/wfn \
 && chown node:node /var/cache/wfn /var/lib/wfn
USER node
WORKDIR /var/lib/wfn
EXPOSE 8787
ENTRYPOINT ["node", "/app/cli/bin/wfn.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8787", "--data-dir", "/var/lib/wfn"]
