# entrannas-bench with the GPU backend. tfjs-node-gpu 4.22.0 loads libtensorflow 2.9.1, which is built for CUDA 11.2
# and cuDNN 8.1: this image brings exactly those libraries (the host needs only an NVIDIA driver ≥ 450.80.02 and the
# NVIDIA Container Toolkit). Build (needs network: tfjs-node-gpu's install script downloads libtensorflow):
#   docker build -t entrannas-bench:gpu .
#   docker run --rm --gpus all -v "$PWD/results:/results" entrannas-bench:gpu run smoke --backend tensorflow-gpu --out /results
# README "GPU container" says how to check that the GPU is really used and what happens on Hopper (H100/H200).
ARG NODE_VERSION=20.20.2
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# Stage 1: the package tarball (npm pack runs prepack: tsc builds dist/).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm pack && mv entrannas-bench-*.tgz /entrannas-bench.tgz

# Stage 2: CUDA 11.2 + cuDNN 8.1 runtime, Node 20 (the official binary from stage 1), the package, tfjs-node-gpu.
FROM ${CUDA_IMAGE}
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
# One install tree for the package and its optional peer tfjs-node-gpu, so both use the same @tensorflow/tfjs-core
# (two global installs would each bring their own, and the GPU backend would register in the other one).
COPY --from=build /entrannas-bench.tgz /tmp/entrannas-bench.tgz
WORKDIR /opt/entrannas-bench
RUN echo '{"private": true}' > package.json \
 && npm install --no-audit --no-fund /tmp/entrannas-bench.tgz @tensorflow/tfjs-node-gpu@4.22.0 \
 && rm /tmp/entrannas-bench.tgz \
 && ln -s /opt/entrannas-bench/node_modules/.bin/entrannas-bench /usr/local/bin/entrannas-bench
# The PTX JIT cache: on GPUs newer than the kernels libtensorflow ships (Hopper) the first start compiles PTX for
# minutes; a large cache on a mounted directory (CUDA_CACHE_PATH) keeps that to the first start.
ENV CUDA_CACHE_MAXSIZE=4294967296 \
    CUDA_CACHE_PATH=/results/.nv-compute-cache \
    NODE_PATH=/opt/entrannas-bench/node_modules
WORKDIR /results
ENTRYPOINT ["entrannas-bench"]
CMD ["--help"]
