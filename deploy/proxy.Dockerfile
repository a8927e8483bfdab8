# deploy/compose.yaml's proxy: Debian's nginx on a plain Debian (no registry needed past Debian's packages: `make image`
# makes such a base with mmdebstrap), configured by nginx.conf, mounted by compose.yaml.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/* \
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
EXPOSE 8000 8866
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
