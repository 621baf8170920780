# The one recipe for metamint's images (BuildKit, the default builder of Docker 23+):
#
#   docker build .                                   the GitHub Action image (stage "action", the last)
#   docker build --target lambda --output dist .     dist/function.zip, the AWS Lambda artifact
#
# The runner builds this file when action.yml says "image: Dockerfile"; the release workflow pushes
# the action stage to ghcr.io and builds the Lambda zip for arm64 and x86_64.

ARG GO_VERSION=1.26.8

# build compiles static binaries on the build machine's platform for the target's.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
RUN apk add --no-cache ca-certificates
WORKDIR /src
COPY go.mod go.sum ./
COPY pkg/ pkg/
COPY internal/ internal/
COPY cmd/ cmd/
ARG TARGETOS=linux
ARG TARGETARCH
# The post step runs the same binary as /post (post-entrypoint in action.yml): the runner passes
# action.yml's args to every stage, so the name, not an argument, tells the post step apart.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
      go build -trimpath -ldflags '-s -w' -o /out/metamint-action ./cmd/action \
 && ln -s metamint-action /out/post

# lambda-build compiles the Lambda bootstrap for provided.al2023 and zips it.
FROM build AS lambda-build
RUN apk add --no-cache zip
ARG TARGETARCH
# VERSION names the build in the function's "run done" record (internal/version): the image has no .git
# for go build to read it from. The release workflow passes its tag.
ARG VERSION=
RUN GOOS=linux GOARCH=$TARGETARCH CGO_ENABLED=0 \
      go build -tags lambda.norpc -trimpath -ldflags "-s -w -X github.com/metamint/metamint/internal/version.release=${VERSION}" -o /lambda/bootstrap ./cmd/lambda \
 && cd /lambda && zip -X -9 function.zip bootstrap

# lambda holds only the artifact, for "docker build --target lambda --output dist .".
FROM scratch AS lambda
COPY --from=lambda-build /lambda/function.zip /function.zip

# action is the GitHub Action image: the binary, its /post link and CA certificates, no shell.
# It runs as root, as GitHub requires of Docker actions (the file command files must be writable).
FROM scratch AS action
LABEL org.opencontainers.image.source="https://github.com/metamint/metamint" \
      org.opencontainers.image.description="metamint GitHub Action: mint Meta system user tokens"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /
ENTRYPOINT ["/metamint-action"]
