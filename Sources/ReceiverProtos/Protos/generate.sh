#!/usr/bin/env bash
# Regenerates ../Generated from the .proto files here. Run by hand when a .proto changes; the
# output is committed, so that builds need neither protoc nor the plugins.
#   PROTOC_GEN_SWIFT, PROTOC_GEN_GRPC_SWIFT: the plugins, built from swift-protobuf 1.39.0
#   (`swift build -c release --product protoc-gen-swift`) and grpc-swift-protobuf 2.4.1
#   (`--product protoc-gen-grpc-swift-2`); protoc from Debian's protobuf-compiler (3.21.12 made it).
# Sources: opentelemetry/ is open-telemetry/opentelemetry-proto at ac2c4b5 (unchanged files);
# envoy/ is cut from envoyproxy/data-plane-api at 84e8436 (see the files' heads).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../Generated"
: "${PROTOC_GEN_SWIFT:?path to protoc-gen-swift}" "${PROTOC_GEN_GRPC_SWIFT:?path to protoc-gen-grpc-swift-2}"
rm -rf "$out" && mkdir -p "$out"
protos=(
  opentelemetry/proto/common/v1/common.proto
  opentelemetry/proto/resource/v1/resource.proto
  opentelemetry/proto/logs/v1/logs.proto
  opentelemetry/proto/collector/logs/v1/logs_service.proto
  envoy/data/accesslog/v3/accesslog.proto
  envoy/service/accesslog/v3/als.proto
)
cd "$here"
protoc --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" --swift_out="$out" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores "${protos[@]}"
protoc --plugin=protoc-gen-grpc-swift="$PROTOC_GEN_GRPC_SWIFT" --grpc-swift_out="$out" \
  --grpc-swift_opt=Visibility=Public,Client=true,Server=true --grpc-swift_opt=FileNaming=PathToUnderscores \
  opentelemetry/proto/collector/logs/v1/logs_service.proto envoy/service/accesslog/v3/als.proto
