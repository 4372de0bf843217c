# syntax=docker/dockerfile:1
# The image cornserve's Kubernetes manifests run by default (`cornserve k8s --image` overrides it):
#   docker build -t cornserve:0.1.0 .                                          # CUDA execution provider
#   docker build --build-arg EXECUTION_PROVIDER=cpu -t cornserve:0.1.0-cpu .   # CPU only, much smaller
# EXECUTION_PROVIDER=cuda (the default) lets onnxruntime-node's install script fetch its CUDA 12
# provider library during `npm ci` and installs the CUDA 12 runtime, cuBLAS, cuFFT and cuDNN 9
# user-space libraries that library loads, from NVIDIA's Debian 12 repository (node:20-slim is
# Debian 12). The driver itself comes from the node, through the NVIDIA container toolkit.
# The tag's version must match package.json (the manifests default to cornserve:<version>).
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM ${NODE_IMAGE}
# cuda or cpu.
ARG EXECUTION_PROVIDER=cuda
# CUDA 12 minor release of the runtime libraries, as NVIDIA's package names spell it.
ARG CUDA_PACKAGE_VERSION=12-6
WORKDIR /app
RUN set -eu; \
    case "$EXECUTION_PROVIDER" in \
      cpu) ;; \
      cuda) \
        apt-get update; \
        apt-get install -y --no-install-recommends ca-certificates curl; \
        curl -fsSL -o /tmp/cuda-keyring.deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb; \
        dpkg -i /tmp/cuda-keyring.deb; \
        apt-get update; \
        apt-get install -y --no-install-recommends "cuda-cudart-$CUDA_PACKAGE_VERSION" "libcublas-$CUDA_PACKAGE_VERSION" \
          "libcufft-$CUDA_PACKAGE_VERSION" "libcurand-$CUDA_PACKAGE_VERSION" libcudnn9-cuda-12; \
        apt-get purge -y curl; apt-get autoremove -y; rm -rf /var/lib/apt/lists/* /tmp/cuda-keyring.deb ;; \
      *) echo "EXECUTION_PROVIDER must be cuda or cpu, not $EXECUTION_PROVIDER" >&2; exit 1 ;; \
    esac
COPY package.json package-lock.json ./
RUN if [ "$EXECUTION_PROVIDER" = cuda ]; then export ONNXRUNTIME_NODE_INSTALL=cuda12; else export ONNXRUNTIME_NODE_INSTALL=skip; fi; \
    npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY schemas ./schemas
COPY fixtures ./fixtures
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production CORNSERVE_EXECUTION_PROVIDER=${EXECUTION_PROVIDER}
# The manifests run as uid 1000, the node user of the official images.
USER node
# Gateway, executor.
EXPOSE 8000 9000
CMD ["node", "bin/cornserve", "--help"]
