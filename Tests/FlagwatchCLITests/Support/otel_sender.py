"""Sends access-log lines to flagwatch with the OpenTelemetry Python SDK's OTLP log exporter.

Usage: otel_sender.py grpc|http ENDPOINT LINES_FILE [--attributes] [--gzip]
Each line becomes one log record through the SDK's logging handler: its body, or, with
--attributes, an `upstream_cluster`/`response_flags`/`response_code` attribute set parsed from
the Istio line (as Istio's logFormat.labels sends them) and a body of no access-log shape;
--gzip compresses the gRPC messages (the OpenTelemetry Collector's default).
Exits 0 once the exporter reports every record exported.
"""
import logging
import sys

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def main():
    transport, endpoint, path = sys.argv[1:4]
    attributes = "--attributes" in sys.argv[4:]
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        import grpc
        compression = grpc.Compression.Gzip if "--gzip" in sys.argv[4:] else None
        exporter = OTLPLogExporter(endpoint=endpoint, insecure=True, compression=compression)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        exporter = OTLPLogExporter(endpoint=endpoint)
    provider = LoggerProvider(resource=Resource.create({"service.name": "otel-sdk-" + transport}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=100))
    logger = logging.getLogger("access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    with open(path) as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line:
                continue
            if attributes:
                # Istio's text format: `... CODE FLAGS DETAILS ...` after the quoted request, the cluster after the upstream host.
                head, _, rest = line.partition('" ')
                code, flags = rest.split(" ")[:2]
                cluster = line.split('" ')[-1].split(" ")[0]
                logger.info("request", extra={"upstream_cluster": cluster, "response_flags": flags, "response_code": int(code)})
            else:
                logger.info(line)
    ok = provider.force_flush(30000)
    provider.shutdown()
    sys.exit(0 if ok else 1)


main()
