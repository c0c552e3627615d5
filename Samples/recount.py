#!/usr/bin/env python3
"""Independent recount of an access log, to check a ground-truth file.

Shares no code with generate.py: each text format is matched by its own anchored regular
expression (quoted fields other than the user agent are '"[^"]*"'; the user agent is
'"(.*)"', so a user agent holding '"' still matches because every other field around it is
pinned), JSON lines by json.loads. Collector prefixes ('[pod/NAME/CONTAINER] ',
'NAME istio-proxy ', CRI 'TIMESTAMP stdout F ', docker compose 'NAME  | ') are stripped.

  recount.py FILE --format istio               print the truth JSON it computes
  recount.py FILE --truth FILE.truth.json      compare with a truth file (exit 1 on mismatch)
  recount.py FILE --format istio-1.8,istio     lines may be in any of several formats

Counting rules: blank lines ('' after removing a trailing CR) are ignored; a line that
matches no format is malformed; group key = upstream cluster with any trailing ';' removed
('-' for '-' or null), or the :authority for envoy/emissary; flags split on ','.
"""
import argparse
import json
import re
import sys

TS = r'\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\]'
REQ = r'"[^"]*"'
Q = r'"[^"]*"'
UA = r'"(?P<ua>.*)"'
T = r'\S+'
NUM = r'\d+'


def rx(*parts):
    return re.compile('^' + ' '.join(parts) + '$')


HEAD = [TS, REQ, f'(?P<code>{NUM})', f'(?P<flags>{T})']
PATTERNS = {
    'istio': rx(*HEAD, T, T, Q, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q,
                f'(?P<cluster>{T})', T, T, T, T, T),
    'istio-1.8': rx(*HEAD, Q, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q,
                    f'(?P<cluster>{T})', T, T, T, T, T),
    'istio-1.3': rx(*HEAD, Q, Q, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q,
                    f'(?P<cluster>{T})', T, T, T, T, T),
    'istio-1.2': rx(*HEAD, Q, Q, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q,
                    f'(?P<cluster>{T})', T, T, T, T),
    'istio-1.1': rx(*HEAD, Q, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q,
                    f'(?P<cluster>{T})', T, T, T, T),
    'envoy': rx(*HEAD, NUM, NUM, NUM, T, Q, UA, Q, f'"(?P<auth>[^"]*)"', Q),
}
PATTERNS['emissary'] = re.compile('^ACCESS ' + PATTERNS['envoy'].pattern[1:])
JSON_FORMATS = ('json-istio', 'envoy-gateway')
BY_AUTHORITY = ('envoy', 'emissary')

PREFIX = re.compile(rb'^(?:\[pod/[^\]/ ]+/[^\] ]+\] '
                    rb'|[a-z0-9][-a-z0-9.]* istio-proxy '
                    rb'|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z std(?:out|err) F '
                    rb'|[-\w.]+ +\| )')


def count(path, formats):
    req, flags = {}, {}
    records = malformed = 0
    text_pats = [PATTERNS[f] for f in formats if f in PATTERNS]
    use_json = any(f in JSON_FORMATS for f in formats)
    with open(path, 'rb') as fh:
        for raw in fh:
            if raw.endswith(b'\n'):
                raw = raw[:-1]
            if raw.endswith(b'\r'):
                raw = raw[:-1]
            if raw == b'':
                continue
            m = PREFIX.match(raw)
            if m:
                raw = raw[m.end():]
            key = fl = None
            if use_json and raw.startswith(b'{'):
                try:
                    d = json.loads(raw)
                except ValueError:
                    d = None
                if isinstance(d, dict) and 'response_flags' in d and 'start_time' in d:
                    c = d.get('upstream_cluster')
                    if c is None or c == '':
                        c = '-'
                    key = c[:-1] if c.endswith(';') else c
                    fl = d['response_flags'] or '-'
            else:
                line = raw.decode('latin-1')
                for pat, f in zip(text_pats, [f for f in formats if f in PATTERNS]):
                    m = pat.match(line)
                    if m:
                        if f in BY_AUTHORITY:
                            key = m.group('auth')
                        else:
                            key = m.group('cluster')
                            if key.endswith(';'):
                                key = key[:-1]
                        fl = m.group('flags')
                        break
            if key is None:
                malformed += 1
                continue
            records += 1
            req[key] = req.get(key, 0) + 1
            if fl != '-':
                codes = []
                for c in fl.split(','):
                    if c and c not in codes:
                        codes.append(c)
                g = flags.setdefault(key, {})
                for c in codes:
                    g[c] = g.get(c, 0) + 1
    total = {}
    for g in flags.values():
        for c, v in g.items():
            total[c] = total.get(c, 0) + v
    return {
        'format': '+'.join(formats),
        'groupBy': 'authority' if all(f in BY_AUTHORITY for f in formats) else 'cluster',
        'lines': records + malformed,
        'records': records,
        'malformed': malformed,
        'flags': dict(sorted(total.items())),
        'clusters': [{'cluster': k, 'requests': req[k], 'flags': dict(sorted(flags.get(k, {}).items()))}
                     for k in sorted(req)],
    }


def diff(a, b):
    out = []
    for k in ('format', 'groupBy', 'lines', 'records', 'malformed', 'flags'):
        if a.get(k) != b.get(k):
            out.append(f'{k}: recount {a.get(k)!r} != truth {b.get(k)!r}')
    ca = {c['cluster']: c for c in a['clusters']}
    cb = {c['cluster']: c for c in b['clusters']}
    for k in sorted(set(ca) | set(cb)):
        if ca.get(k) != cb.get(k):
            out.append(f'cluster {k!r}: recount {ca.get(k)} != truth {cb.get(k)}')
    if [c['cluster'] for c in b['clusters']] != sorted(cb):
        out.append('truth clusters are not sorted by name')
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('file')
    p.add_argument('--format', help='format name(s), comma-separated; default: from --truth')
    p.add_argument('--truth', help='truth JSON to compare with')
    a = p.parse_args()
    truth = None
    if a.truth:
        with open(a.truth) as f:
            truth = json.load(f)
    fmt = a.format or (truth and truth['format'].replace('+', ','))
    if not fmt:
        p.error('--format or --truth required')
    formats = fmt.split(',')
    for f in formats:
        if f not in PATTERNS and f not in JSON_FORMATS:
            p.error(f'unknown format {f}')
    got = count(a.file, formats)
    if truth is None:
        json.dump(got, sys.stdout, indent=1)
        print()
        return 0
    got['format'] = truth['format']
    problems = diff(got, truth)
    if problems:
        print(f'MISMATCH {a.file}:', *problems[:30], sep='\n  ')
        return 1
    print(f'ok {a.file}: {got["lines"]} lines, {got["records"]} records, {got["malformed"]} malformed, '
          f'{len(got["clusters"])} groups, flags {got["flags"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
