#!/usr/bin/env python3
"""Rebuild Samples/logs/*: real corpus lines + generated lines, each with its truth file.

  python3 Samples/make_samples.py [--corpus Tests/Corpus]

Every sample starts with a block of real lines copied byte-exact from the corpus in Tests/Corpus
(listed in REAL below), followed by lines from generate.py (fixed seeds). The truth of a
sample = the generator's own truth for its generated lines + the expected values of the
real lines, taken from the corpus's expected-fields.tsv (text lines; derived there twice,
independently) or from the hand-written EXPECTED_JSON table (JSON lines). The script then
checks every sample with recount.py (a third, independent count) and fails on a mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LOGS = os.path.join(HERE, 'logs')
GEN = os.path.join(HERE, 'generate.py')
RECOUNT = os.path.join(HERE, 'recount.py')

# JSON corpus lines: (file, line number) -> (group key, response_flags), read by hand.
EXPECTED_JSON = {
    ('json/38-istio-book-cn.jsonl', 1): ('outbound|80||envoydummy.chapter11.svc.cluster.local', 'UH'),
    ('json/09-korean-notes-2025.jsonl', 1): ('outbound|8000||httpbin.default.svc.cluster.local', '-'),
    ('json/09-korean-notes-2025.jsonl', 2): ('inbound|8080||', '-'),
    ('json/26-ssup2-istio-json.jsonl', 1): ('outbound|8080||mock-server.default.svc.cluster.local', 'UPE'),
    ('json/26-ssup2-istio-json.jsonl', 2): ('inbound|8080||', 'UPE'),
    ('json/26-ssup2-istio-json.jsonl', 3): ('outbound|8080||mock-server.default.svc.cluster.local', 'UO'),
    ('json/37-envoy-gateway-aibrix.jsonl', 1): ('httproute/aibrix-system/llama2-7b-router/rule/0', '-'),
    ('json/37-envoy-gateway-aibrix.jsonl', 2): ('original_destination_cluster', 'UH'),
    ('json/49-envoy-gateway-1800.jsonl', 1): ('httproute/default/backend/rule/0', '-'),
}
NOISE = 'noise/29-noise.log'   # istio-proxy lines, not access-log lines: malformed

KUBECTL = '[pod/istio-ingressgateway-7d9c8b6f5b-x2k9p/istio-proxy] '
STERN = 'productpage-v1-6b746f74dc-9stvs istio-proxy '

# sample name -> (truth format, groupBy, [real (file, [line numbers] or None = all, prefix)],
#                 [generator argument lists])
SAMPLES = {
    'envoy.log': ('envoy', 'authority',
                  [('text/21-envoy-default-misc.log', None, ''),
                   ('text/45-istio-0.log', None, ''),
                   ('text/46-mageedu-front-envoy.log', None, ''),
                   ('text/48-envoy-default-misc2.log', None, ''),
                   ('text/54-katacoda-envoy-default.log', None, '')],
                  [['--format', 'envoy', '--lines', '80', '--clusters', '10', '--seed', '11',
                    '--rate', '4', '--malformed-rate', '0.05', '--no-huge', '--quoted-ua-rate', '0.03',
                    '--spike', 'checkout.example.com:UH:0:15:0.7']]),
    'emissary.log': ('emissary', 'authority',
                     [('prefixed/55-ambassador.log', None, '')],
                     [['--format', 'emissary', '--lines', '60', '--clusters', '8', '--seed', '12',
                       '--rate', '4', '--quoted-ua-rate', '0.03']]),
    'istio.log': ('istio', 'cluster',
                  [('text/07-istioio-accesslog-task.log', None, ''),
                   ('text/09-korean-notes-2025.log', None, ''),
                   ('text/12-simple-app-istio-ingress.log', None, ''),
                   ('text/18-helloworld-dc.log', None, ''),
                   ('text/23-istioinaction-kr.log', [1, 3, 5, 13], ''),
                   ('text/25-starfleet-course.log', None, ''),
                   ('text/29-blackhole-passthrough.log', [1, 4, 12, 17], ''),
                   ('text/42-dpe-rl-fi.log', None, ''),
                   ('text/57-ssup2-circuit-breaking.log', [1, 4, 7], ''),
                   ('text/19-hbone-wedge-1.log', [1, 9, 13], ''),
                   (NOISE, None, '')],
                  # A spike the default rules find (13 of 14 reviews requests in its second
                  # minute fail; they need 10 flagged in 60 s), between quiet minutes.
                  [['--format', 'istio', '--lines', '450', '--clusters', '6', '--seed', '13',
                    '--rate', '2', '--malformed-rate', '0.02', '--no-huge', '--quoted-ua-rate', '0.02',
                    '--spike', 'outbound|9080||reviews.default.svc.cluster.local:URX,UF:60:80:0.9']]),
    'istio-1.8.log': ('istio-1.8', 'cluster',
                      [('text/02-cray-csm-keycloak.log', None, ''),
                       ('text/34-istioio-8404.log', None, '')],
                      [['--format', 'istio-1.8', '--lines', '50', '--clusters', '8', '--seed', '14',
                        '--rate', '3', '--quoted-ua-rate', '0.03', '--spike', 'outbound|8080||keycloak.services.svc.cluster.local:UF,URX:0:10:0.8']]),
    'istio-1.3.log': ('istio-1.3', 'cluster',
                      [('text/03-cray-csm-ingress.log', None, ''),
                       ('text/04-secpoc-egress.log', None, ''),
                       ('text/05-misc-tcp.log', [3], ''),
                       ('text/32-istio-1.log', None, ''),
                       ('text/36-engarde.log', [1], '')],
                      [['--format', 'istio-1.3', '--lines', '50', '--clusters', '8', '--seed', '15',
                        '--rate', '3', '--quoted-ua-rate', '0.03']]),
    'istio-1.2.log': ('istio-1.2', 'cluster',
                      [('text/35-istio-1.log', None, '')],
                      [['--format', 'istio-1.2', '--lines', '40', '--clusters', '8', '--seed', '16',
                        '--rate', '3']]),
    'istio-1.1.log': ('istio-1.1', 'cluster',
                      [('text/11-istioio-accesslog-1.log', None, ''),
                       ('text/36-engarde.log', [2], '')],
                      [['--format', 'istio-1.1', '--lines', '40', '--clusters', '8', '--seed', '17',
                        '--rate', '3']]),
    'istio-json.jsonl': ('json-istio', 'cluster',
                         [('json/38-istio-book-cn.jsonl', None, ''),
                          ('json/09-korean-notes-2025.jsonl', [1, 2], ''),
                          ('json/26-ssup2-istio-json.jsonl', [1, 2, 3], '')],
                         [['--format', 'json-istio', '--lines', '60', '--clusters', '8', '--seed', '18',
                           '--rate', '3', '--quoted-ua-rate', '0.03', '--malformed-rate', '0.03', '--no-huge']]),
    'envoy-gateway.jsonl': ('envoy-gateway', 'cluster',
                            [('json/37-envoy-gateway-aibrix.jsonl', None, ''),
                             ('json/49-envoy-gateway-1800.jsonl', None, '')],
                            [['--format', 'envoy-gateway', '--lines', '40', '--clusters', '6', '--seed', '19',
                              '--rate', '3']]),
    'mixed-upgrade.log': ('istio-1.8+istio', 'cluster', [],
                          [['--format', 'istio-1.8', '--lines', '60', '--clusters', '10', '--seed', '20',
                            '--mesh-seed', '20', '--start', '2026-06-28T10:00:00Z', '--rate', '1'],
                           ['--format', 'istio', '--lines', '60', '--clusters', '10', '--seed', '21',
                            '--mesh-seed', '20', '--start', '2026-06-28T10:05:00Z', '--rate', '1']]),
    'prefixed-kubectl.log': ('istio', 'cluster',
                             [('text/18-helloworld-dc.log', None, KUBECTL),
                              ('text/12-simple-app-istio-ingress.log', None, KUBECTL),
                              ('text/57-ssup2-circuit-breaking.log', [1, 4], STERN),
                              (NOISE, [1], KUBECTL)],
                             [['--format', 'istio', '--lines', '40', '--clusters', '8', '--seed', '22',
                               '--mesh-seed', '22', '--rate', '3', '--wrap', 'kubectl',
                               '--malformed-rate', '0.05', '--no-huge'],
                              ['--format', 'istio', '--lines', '40', '--clusters', '8', '--seed', '23',
                               '--mesh-seed', '22', '--rate', '3', '--wrap', 'stern',
                               '--start', '2026-06-28T15:01:00Z']]),
    'cri.log': ('istio', 'cluster',
                [('text/09-korean-notes-2025.log', None, 'CRI'),
                 ('text/42-dpe-rl-fi.log', None, 'CRI'),
                 (NOISE, [3], 'CRI')],
                [['--format', 'istio', '--lines', '60', '--clusters', '8', '--seed', '24',
                  '--rate', '3', '--wrap', 'cri', '--malformed-rate', '0.03',
                  '--quoted-ua-rate', '0.03']]),
}


def load_tsv(corpus):
    exp = {}
    with open(os.path.join(corpus, 'expected-fields.tsv'), encoding='utf-8') as f:
        head = f.readline().rstrip('\n').split('\t')
        for row in f:
            r = dict(zip(head, row.rstrip('\n').split('\t')))
            exp[(r['file'], int(r['line_in_file']))] = r
    return exp


def real_truth(corpus, tsv, fname, n, group_by):
    """(key, flags) of a real line, or None for a line that is not an access-log line."""
    if fname == NOISE:
        return None
    if fname.startswith('json/'):
        return EXPECTED_JSON[(fname, n)]
    tsv_name = fname.replace('prefixed/', 'text/')
    if fname == 'prefixed/55-ambassador.log':
        # not in expected-fields.tsv (prefixed/): read by hand
        return ('prometheus.granite.rock.swiggy', 'UC')
    r = tsv[(tsv_name, n)]
    key = r['authority'] if group_by == 'authority' else r['upstream_cluster']
    return (key, r['response_flags'])


def cri_prefix(line):
    # '[2022-...Z] ...' -> CRI timestamp from the line's own start time
    ts = line[1:24] if line.startswith('[') else '2024-08-07T09:34:15.747Z'
    return f'{ts[:-1]}000001Z stdout F '


def build(name, spec, corpus, tsv):
    fmt, group_by, reals, gens = spec
    req, flags = {}, {}
    records = malformed = 0
    out = []

    def add(key, fl):
        req[key] = req.get(key, 0) + 1
        if fl != '-':
            g = flags.setdefault(key, {})
            for c in dict.fromkeys(fl.split(',')):
                g[c] = g.get(c, 0) + 1

    for fname, nums, prefix in reals:
        with open(os.path.join(corpus, fname), 'rb') as f:
            lines = f.read().decode('latin-1').split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        for i, line in enumerate(lines, 1):
            if nums is not None and i not in nums:
                continue
            if fname.startswith('json/'):
                d = json.loads(line.encode('latin-1'))   # sanity: the hand table matches the line
                k, fl = EXPECTED_JSON[(fname, i)]
                assert (d.get('upstream_cluster') or '-').rstrip(';') == k and d['response_flags'] == fl, (fname, i)
            t = real_truth(corpus, tsv, fname, i, group_by)
            if t is None:
                malformed += 1
            else:
                records += 1
                add(*t)
            p = cri_prefix(line) if prefix == 'CRI' else prefix
            out.append(p + line)
    with tempfile.TemporaryDirectory() as tmp:
        for j, gargs in enumerate(gens):
            lf, tf = os.path.join(tmp, f'{j}.log'), os.path.join(tmp, f'{j}.json')
            subprocess.run([sys.executable, GEN, *gargs, '-o', lf, '--truth', tf], check=True,
                           stderr=subprocess.DEVNULL)
            with open(lf, 'rb') as f:
                data = f.read().decode('latin-1')
            out.extend(data.split('\n')[:-1])
            with open(tf) as f:
                t = json.load(f)
            assert t['groupBy'] == group_by, (name, t['groupBy'])
            records += t['records']
            malformed += t['malformed']
            for c in t['clusters']:
                req[c['cluster']] = req.get(c['cluster'], 0) + c['requests']
                g = flags.setdefault(c['cluster'], {})
                for k, v in c['flags'].items():
                    g[k] = g.get(k, 0) + v
    total = {}
    for g in flags.values():
        for c, v in g.items():
            total[c] = total.get(c, 0) + v
    truth = {
        'format': fmt, 'groupBy': group_by, 'lines': records + malformed, 'records': records,
        'malformed': malformed, 'flags': {c: total[c] for c in sorted(total)},
        'clusters': [{'cluster': k, 'requests': req[k],
                      'flags': {c: flags.get(k, {})[c] for c in sorted(flags.get(k, {}))}}
                     for k in sorted(req)],
    }
    path = os.path.join(LOGS, name)
    with open(path, 'wb') as f:
        f.write(('\n'.join(out) + '\n').encode('latin-1'))
    base = name.rsplit('.', 1)[0]
    with open(os.path.join(LOGS, base + '.truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)
        f.write('\n')
    return path, os.path.join(LOGS, base + '.truth.json')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--corpus', default=os.environ.get('FLAGWATCH_CORPUS', os.path.join(HERE, '..', 'Tests', 'Corpus')))
    a = p.parse_args()
    os.makedirs(LOGS, exist_ok=True)
    tsv = load_tsv(a.corpus)
    bad = 0
    for name, spec in SAMPLES.items():
        path, tpath = build(name, spec, a.corpus, tsv)
        r = subprocess.run([sys.executable, RECOUNT, path, '--truth', tpath])
        bad += r.returncode != 0
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
