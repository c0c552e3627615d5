#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (Tests/Fuzz), from the real log lines in Tests/Corpus and
from Samples/. Usage: seeds.py OUT_DIR SAMPLES_DIR CORPUS_DIR

Each target's input layout is described at the top of its source file."""
import gzip, os, sys
from pathlib import Path

out, samples = Path(sys.argv[1]), Path(sys.argv[2])
corpus = Path(sys.argv[3])

def chunks(path, size=2048, limit=3):
    """Up to `limit` runs of whole lines of at most `size` bytes from the file's start."""
    data = path.read_bytes()
    result, current = [], b""
    for line in data.splitlines(keepends=True):
        if current and len(current) + len(line) > size:
            result.append(current)
            current = b""
            if len(result) == limit:
                return result
        current += line[:size]
    if current:
        result.append(current)
    return result

def files(folder, *patterns):
    return sorted(p for pattern in patterns for p in folder.glob(pattern)) if folder and folder.is_dir() else []

text_files = files(samples / "logs", "*.log")
json_files = files(samples / "logs", "*.jsonl")
text_files += files(corpus, "text/*.log", "prefixed/*.log", "partial/*.log", "noise/*.log", "bulk/*.log", "written/*.log")
json_files += files(corpus, "json/*.jsonl", "partial/28-*.log", "written/*.jsonl")
text_chunks = [c for f in text_files for c in chunks(f)]
json_chunks = [c for f in json_files for c in chunks(f)]

def write(target, name, data):
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)

# Text tokenizer: selector byte (8 built-ins, 2 custom formats, auto) + lines.
for i, chunk in enumerate(text_chunks):
    for selector in range(11):
        write("FuzzTextTokenizer", f"t{i}-{selector}", bytes([selector]) + chunk)

# JSON tokenizer: mode byte (0 standard keys, 1 auto, 2 --json-keys line first) + lines.
for i, chunk in enumerate(json_chunks):
    write("FuzzJSONTokenizer", f"j{i}-0", b"\x00" + chunk)
    write("FuzzJSONTokenizer", f"j{i}-1", b"\x01" + chunk)
    write("FuzzJSONTokenizer", f"j{i}-2", b"\x02cluster=upstream_cluster,flags=response_flags,code=response_code\n" + chunk)
for i, chunk in enumerate(text_chunks[:10]):
    write("FuzzJSONTokenizer", f"a{i}", b"\x01" + chunk)

# Format compiler: format string, NUL, lines.
envoy = ('[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% '
         '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" '
         '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"')
istio = ('[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% '
         '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% '
         '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
         '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% '
         '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%')
formats = [
    envoy, "ACCESS " + envoy, istio,
    '[%START_TIME%] %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%',
    '%START_TIME(%s.%3f)% %RESPONSE_CODE% %RESPONSE_FLAGS_LONG% %UPSTREAM_CLUSTER_RAW%',
    '%START_TIME(%Y-%m-%dT%H:%M:%S.%3f%z)% "%REQ(:AUTHORITY)%" %RESPONSE_CODE%',
    '%START_TIME(%d/%b/%Y:%H:%M:%S.%6f %z)% %REQ(:METHOD):10% %RESPONSE_CODE%|%RESPONSE_FLAGS%|%ROUTE_NAME%\\n',
    '%START_TIME_LOCAL% %DYNAMIC_METADATA(istio.mixer:status)% %FILTER_STATE(a(b)c):5% %DURATION%',
    '[%START_TIME(%F %T %E3S %e %a %h %y %Z %9f %%)%] %BYTES_SENT%',
]
lines = text_chunks[0].splitlines()[:3] if text_chunks else []
for i, fmt in enumerate(formats):
    write("FuzzFormatCompiler", f"f{i}", fmt.encode())
    write("FuzzFormatCompiler", f"f{i}-lines", fmt.encode() + b"\x00" + b"\n".join(lines))
for i, chunk in enumerate(text_chunks[:20]):
    write("FuzzFormatCompiler", f"c{i}", (istio if i % 2 else envoy).encode() + b"\x00" + chunk)

# Gzip reader: read-size byte, buffer-size byte, .gz stream.
gz_sources = [c for c in text_chunks[:6] + json_chunks[:4]]
for i, chunk in enumerate(gz_sources):
    one = gzip.compress(chunk, compresslevel=6, mtime=0)
    other = gzip.compress(chunk[::-1], compresslevel=1, mtime=0)
    for name, data in [("one", one), ("two", one + other), ("pad", one + b"\x00" * 9 + other + b"\x00" * 3),
                       ("cut", one[: len(one) // 2]), ("stored", gzip.compress(chunk, compresslevel=0, mtime=0))]:
        write("FuzzGzipReader", f"g{i}-{name}-a", b"\x00\x00" + data)
        write("FuzzGzipReader", f"g{i}-{name}-b", b"\x03\x01" + data)
write("FuzzGzipReader", "empty", b"\x00\x00" + gzip.compress(b"", mtime=0))

# Rules parser: rules files.
for i, path in enumerate(files(samples / "rules", "*.yaml") + files(samples / "deploy", "**/*.yaml", "**/*.yml")):
    write("FuzzRulesParser", f"r{i}", path.read_bytes())
write("FuzzRulesParser", "small", b'rules:\n  - name: "a\\tb"\n    flags: UF\n    window: 1500ms\n    labels: {k: v}\n'
      b'    clusters: {include: ["outbound|*"], exclude: ["*canary*"]}\n')

for target in sorted(os.listdir(out)):
    print(f"seeds: {target}: {len(os.listdir(out / target))} inputs")
