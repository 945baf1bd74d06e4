# Multi-stage build of the jobboard binary into a small image (static binary on scratch).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/jobboard ./cmd/jobboard

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/jobboard /jobboard
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/jobboard"]
CMD ["serve"]
