# syntax=docker/dockerfile:1
# Sluice image: Node 24, the compiled TypeScript, and the eBPF sockmap addon (libbpf).
#   docker build -t sluice .
# The chart runs it as uid 65532 with a read-only root file system; with ebpf.enabled it runs
# as root with only CAP_BPF, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (Kubernetes does not set
# ambient capabilities, so a non-root user could not use them).

ARG NODE_IMAGE=node:24-bookworm

# ---- build: TypeScript, native addon, BPF objects ------------------------------------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here, and the `node`
# devDependency would fetch a second Node; the image's Node 24 (with headers in /usr/local) is used.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node node_modules/.bin/node
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
# Native addon (node-addon-api + libbpf) and the BPF object it loads (bpf/*.bpf.o is prebuilt;
# `npm run build:bpf` rebuilds it with clang).
COPY native ./native
COPY bpf ./bpf
RUN npx tsc -p tsconfig.json \
 && SLUICE_NODEDIR=/usr/local node native/install.mjs --strict \
 && rm -rf native/build/Release/obj.target native/build.log \
 && npm prune --omit=dev --ignore-scripts

# ---- runtime ---------------------------------------------------------------------------------
FROM node:24-bookworm-slim
# libbpf1: the addon's runtime library. The file capability on node lets hostNetwork pods
# without eBPF bind ports < 1024 as uid 65532 (the chart then sets allowPrivilegeEscalation,
# which file capabilities need; elsewhere the pod sysctl ip_unprivileged_port_start does it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libcap2-bin tini \
 && setcap cap_net_bind_service=+ep "$(readlink -f /usr/local/bin/node)" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/native ./native
COPY --from=build /src/bpf ./bpf
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 9901
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["run", "--kubernetes"]
