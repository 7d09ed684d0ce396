# syntax=docker/dockerfile:1
# The gateway as a container: built from source in an SDK image, run as one self-contained executable in the
# small runtime-deps image (no .NET runtime, no shell tools beyond Debian's base), as a non-root user.
#   docker build -t gateway .
#   docker run -p 8080:8080 gateway
#   docker run -p 8443:8443 -v $PWD/examples:/etc/gateway:ro gateway run /etc/gateway/tls.yaml

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Gateway -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
      -p:DebugType=embedded -o /out -nologo \
 && cp config/gateway.yaml config/gateway.schema.json /out/

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
COPY --from=build /out/gateway /usr/local/bin/gateway
COPY --from=build /out/gateway.yaml /out/gateway.schema.json /etc/gateway/
# The image's own non-root user (uid 1654); the default config listens on 8080, the admin listener on 9901.
USER $APP_UID
EXPOSE 8080
# /healthz on the admin listener (loopback inside the container), spoken with bash alone: the image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9901 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# SIGTERM drains (server.shutdown_timeout_secs, default 30 s): give `docker stop -t 40` or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gateway"]
CMD ["run", "/etc/gateway/gateway.yaml"]
