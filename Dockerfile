# pinwarden container image. Two stages: `build` compiles TypeScript with the dev dependencies, then prunes
# them; the runtime stage gets only dist/, package.json and the production node_modules.
#
#   buildah bud --isolation chroot -t pinwarden:dev .          (or: docker build -t pinwarden:dev .)
#   --build-arg NODE_IMAGE=...   any Node 24 image with npm in the build stage (default: the official slim image)
#   --build-arg VERSION=... REVISION=$(git rev-parse HEAD)     fill the OCI labels
#
# The image runs as the numeric non-root user 65532 and writes nothing outside /tmp (mount a tmpfs there;
# the Helm chart does), so it runs with a read-only root filesystem.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Only for builds behind a TLS-intercepting proxy: mount its CA into the build (buildah/podman
# `--volume ca.crt:/run/build-ca.crt:ro`) and pass --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt.
# A build-stage ARG: it never reaches the runtime image.
ARG NODE_EXTRA_CA_CERTS
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no install script runs (the `node` dev dependency would fetch a second Node binary).
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && chmod 0755 dist/main.js \
 && mkdir -p /out/bin \
 && ln -s /app/dist/main.js /out/bin/pinwarden

FROM ${NODE_IMAGE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/pinwarden/pinwarden
LABEL org.opencontainers.image.title="pinwarden" \
      org.opencontainers.image.description="Admission guard for Flux OCIRepository and Bucket sources: digest pinning and signature policy." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production HOME=/tmp TMPDIR=/tmp
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/dist ./dist
COPY --from=build /out/bin/ /usr/local/bin/
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["pinwarden"]
CMD ["serve"]
