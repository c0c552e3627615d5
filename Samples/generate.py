#!/usr/bin/env python3
"""Generate large, realistic Envoy / Istio access logs with exact ground truth.

Standard library only (Python 3.11+). Same seed + same arguments -> byte-identical output.

Lines are written in the order Envoy writes them: when the request ENDS. Each line's
%START_TIME% is end - duration, so start times are not sorted (some requests last tens
of seconds). Per upstream cluster (Istio formats) or per :authority (envoy / emissary,
whose default format has no cluster field) the generator counts requests and response
flags and can write that ground truth as JSON (--truth).

Formats (text formats exactly as in Envoy's / Istio's default formats):
  istio          Istio 1.9+ (22 quote-aware fields; details + termination details)
  istio-1.8      Istio 1.8  (20 fields; one quoted transport-failure field)
  istio-1.3      Istio 1.3-1.7 (21 fields; mixer status + transport failure + ROUTE_NAME)
  istio-1.2      Istio 1.2  (20 fields; no ROUTE_NAME)
  istio-1.1      Istio 1.1  (19 fields; mixer status only)
  envoy          Envoy default format (13 fields, no cluster field)
  emissary       'ACCESS ' + Envoy default (Emissary / Ambassador)
  json-istio     Istio typed JSON (numbers as numbers, null for missing, key order varies;
                 some upstream_cluster values carry Istio 1.25's trailing ';')
  envoy-gateway  Envoy Gateway default JSON (header-like keys, sorted keys, typed)

Ground truth (--truth FILE), exactly:
  {"format": NAME, "groupBy": "cluster"|"authority", "lines": int, "records": int,
   "malformed": int, "flags": {CODE: int}, "clusters": [{"cluster": KEY,
   "requests": int, "flags": {CODE: int}}]}
  groupBy is "authority" for envoy/emissary, "cluster" otherwise. KEY is the upstream
  cluster with any trailing ';' removed ('-' when the line has no cluster: '-' in text,
  null in JSON), or the :authority value ('-' when absent). A multi-flag value such as
  UF,URX counts once for UF and once for URX; '-' is no flag; unknown upper-case
  extension codes (e.g. XYZ) are counted under their own name. lines = records +
  malformed; blank lines are not counted at all. Clusters are sorted by KEY.
"""

import argparse
import datetime
import json
import math
import random
import re
import sys
import time

FORMATS = ['istio', 'istio-1.8', 'istio-1.3', 'istio-1.2', 'istio-1.1',
           'envoy', 'emissary', 'json-istio', 'envoy-gateway']
F_ISTIO, F_18, F_13, F_12, F_11, F_ENVOY, F_EMISSARY, F_JSON, F_EG = range(9)
WRAPS = ['none', 'kubectl', 'stern', 'cri', 'compose']

# Order in which one flag is chosen as the "main" one to decide code/details of a
# --spike with several flags.
FLAG_PRIORITY = ['UF', 'UH', 'UO', 'UT', 'UC', 'UR', 'LR', 'UPE', 'NC', 'NR', 'DPE',
                 'RL', 'FI', 'UAEX', 'SI', 'DC', 'URX', 'DI']

# ---------------------------------------------------------------------------------
# small helpers


def parse_size(text):
    """'1G' -> 1073741824. Suffixes K, M, G, T (powers of 1024; KB/KiB/k accepted)."""
    m = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*', text)
    if not m:
        raise argparse.ArgumentTypeError(f'bad size {text!r} (use e.g. 500000, 64K, 100M, 1G)')
    mult = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def parse_start(text):
    s = text.strip()
    if s.endswith('Z') or s.endswith('z'):
        s = s[:-1] + '+00:00'
    try:
        d = datetime.datetime.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad RFC 3339 time {text!r}')
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(round(d.timestamp() * 1000))


def parse_spike(text):
    """CLUSTER:FLAGS:START_OFFSET_S:DURATION_S:SHARE, split from the right."""
    parts = text.rsplit(':', 4)
    if len(parts) != 5 or not parts[0]:
        raise argparse.ArgumentTypeError(
            f'bad --spike {text!r}: want CLUSTER:FLAGS:START_OFFSET_S:DURATION_S:SHARE')
    cluster, flags, start, dur, share = parts
    codes = []
    for c in flags.split(','):
        c = c.strip()
        if not re.fullmatch(r'[A-Z][A-Z0-9_]*', c):
            raise argparse.ArgumentTypeError(f'bad flag {c!r} in --spike {text!r}')
        if c not in codes:
            codes.append(c)
    try:
        start, dur, share = float(start), float(dur), float(share)
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad numbers in --spike {text!r}')
    if not 0.0 <= share <= 1.0 or dur < 0:
        raise argparse.ArgumentTypeError(f'bad share/duration in --spike {text!r}')
    return (cluster, ','.join(codes), tuple(codes), int(start * 1000), int((start + dur) * 1000), share)


def weighted_table(rng, items, bits=16):
    """Lookup table of 2**bits entries: t[getrandbits(bits)] draws items by weight.
    items: list of (value, weight). Every item with weight > 0 gets >= 1 slot."""
    size = 1 << bits
    total = float(sum(w for _, w in items if w > 0))
    table = []
    acc = 0.0
    for v, w in items:
        if w <= 0:
            continue
        acc += w
        upto = max(len(table) + 1, int(round(acc / total * size)))
        table.extend([v] * (upto - len(table)))
    if len(table) > size:
        del table[size:]
    while len(table) < size:
        table.append(items[0][0])
    return table


def log_uniform(rng, lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def u8(s):
    """Text meant as UTF-8 bytes, carried as a latin-1 str (all output is latin-1 encoded)."""
    return s.encode('utf-8').decode('latin-1')


# ---------------------------------------------------------------------------------
# value pools

SERVICES = ['productpage', 'reviews', 'ratings', 'details', 'catalog', 'cart', 'checkout',
            'payments', 'shipping', 'inventory', 'orders', 'users', 'auth', 'search',
            'recommendation', 'notification', 'frontend', 'api-gateway', 'billing', 'pricing',
            'currency', 'email', 'ads', 'media', 'jellyfin', 'httpbin', 'keycloak', 'grafana',
            'webapp', 'backend', 'profile', 'session', 'config', 'ledger', 'fraud-check',
            'audit', 'reporting', 'exporter', 'geo', 'maps', 'chat', 'feed', 'comments',
            'uploads', 'thumbnails', 'transcoder', 'wishlist', 'loyalty', 'coupons', 'tax']
NAMESPACES = ['default', 'prod', 'shop', 'bookinfo', 'payments', 'media', 'backend',
              'frontend', 'data', 'identity', 'staging', 'team-a']
SUBSETS = ['v1', 'v2', 'v3', 'canary', 'stable', 'version-v2']
HTTP_PORTS = [80, 8080, 9080, 8000, 3000, 5000, 8443, 8081]
TCP_SERVICES = [('redis', 6379), ('postgres', 5432), ('mongodb', 27017), ('kafka', 9092),
                ('mysql', 3306), ('rabbitmq', 5672), ('memcached', 11211), ('nats', 4222)]
EXTERNAL_HTTP = ['httpbin.org', 'api.github.com', 'www.googleapis.com', 'hooks.slack.com']
EXTERNAL_TLS = ['api.stripe.com', 'sqs.us-east-1.amazonaws.com', 'login.microsoftonline.com',
                'api.ipify.org']
DOMAINS = ['example.com', 'shop.example.io', 'internal.corp', 'apps.mycluster.example.net']

USER_AGENTS = [
    'curl/7.68.0', 'curl/8.7.1', 'curl/7.81.0', 'curl/8.5.0', 'Go-http-client/1.1',
    'Go-http-client/2.0', 'python-requests/2.31.0', 'python-requests/2.27.1',
    'okhttp/4.12.0', 'grpc-go/1.62.1', 'grpc-java-netty/1.58.0', 'Envoy/HC',
    'kube-probe/1.29', 'Prometheus/2.51.0', 'fortio.org/fortio-1.69.5', 'beegoServer',
    'Apache-HttpClient/4.5.2 (Java/1.8.0_60)', 'Apache-HttpClient/4.5.13 (Java/17.0.9)',
    'axios/1.6.7', 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.90 Mobile Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Java/17.0.9', 'Dalvik/2.1.0 (Linux; U; Android 13; SM-G991B Build/TP1A.220624.014)',
    'Wget/1.21.4', 'k6/0.49.0 (https://k6.io/)', 'ELB-HealthChecker/2.0',
    'Slackbot 1.0 (+https://api.slack.com/robots)', '-',
    u8('MeinBrowser/1.0 (Linux; de-DE; Größe=XL)'),
]
# ~0.1 % of requests: a client-injected '"' inside the user agent (envoyproxy/envoy#4191).
# The quote is always inside the value, never first or last.
QUOTED_UAS = ['Mozilla/5.0 "evil" agent',
              'Mozilla/5.0 (X11; Linux x86_64) "><script>alert(1)</script>',
              "sqlmap/1.7' OR \"1\"=\"1 (https://sqlmap.org)"]

METHODS = [('GET', 760), ('POST', 140), ('PUT', 30), ('DELETE', 20), ('PATCH', 10),
           ('HEAD', 20), ('OPTIONS', 20)]
PROTOCOLS_HTTP = [('HTTP/1.1', 690), ('HTTP/2', 290), ('HTTP/1.0', 15), ('HTTP/3', 5)]
OK_CODES = [(200, 8600), (201, 200), (204, 200), (206, 40), (301, 40), (302, 90), (304, 200),
            (400, 100), (404, 200), (409, 30), (422, 20), (500, 100), (502, 30), (503, 50),
            (101, 20)]

NOISE_TEMPLATES = [
    '{ts}\tinfo\txdsproxy\tconnected to upstream XDS server: istiod.istio-system.svc:15012',
    '{ts}\tinfo\tEnvoy proxy is ready',
    '{ts}\twarning\tenvoy config external/envoy/source/extensions/config_subscription/grpc/'
    'grpc_stream.h:152\tStreamAggregatedResources gRPC config stream to xds-grpc closed since '
    '1805s ago: 13, \tthread=21',
    '{ts}\tinfo\tcache\tgenerated new workload certificate\tlatency=118.425911ms ttl=23h59m59.578132161s',
    '{ts}\tinfo\tads\tADS: "@" {pod}.istio-system-3 terminated',
    '{ts}\twarning\tenvoy main external/envoy/source/server/server.cc:843\tUsage of the '
    'deprecated runtime key overload.global_downstream_max_connections, consider switching to '
    '`envoy.resource_monitors.downstream_connections` instead.\tthread=14',
    '{ts}\terror\tenvoy upstream external/envoy/source/common/upstream/cluster_manager_impl.cc:1180\t'
    'cluster outbound|9080||reviews.default.svc.cluster.local: no healthy host for HTTP connection pool\tthread=30',
    '[{ets}][21][warning][config] [external/envoy/source/common/config/grpc_stream.h:201] '
    'DeltaAggregatedResources gRPC config stream to xds-grpc closed: 14, connection error',
    '{ts}\tinfo\tsds\tSDS: PUSH\tresource=default',
    '{ts}\twarn\tclient-go@v0.29.0/tools/cache/reflector.go:539: watch of *v1.ConfigMap ended with: '
    'an error on the server ("unable to decode an event from the watch stream") has prevented the request from succeeding',
]
HUGE_TEMPLATE = ('{ts}\twarning\tenvoy config external/envoy/source/extensions/config_subscription/'
                 'grpc/delta_subscription_state.cc:275\tdelta config for type.googleapis.com/'
                 'envoy.config.listener.v3.Listener rejected: Error adding/updating listener(s) ')

# Response flags of a scenario are drawn from "flag variants": (printed value, codes).


class Scenario:
    __slots__ = ('name', 'variants', 'codes', 'dets', 'host', 'ust', 'bsent', 'dur',
                 'dash_cluster', 'dash_auth', 'dpe', 'tcp', 'keep_ulocal')

    def __init__(self, name, variants, codes, dets, host=True, ust=False, bsent=None,
                 dur='zero', dash_cluster=False, dash_auth=False, dpe=False, tcp=False,
                 keep_ulocal=None):
        self.name = name
        self.variants = variants      # list of (printed flags, tuple of codes)
        self.codes = codes            # list of response codes
        self.dets = dets              # list of (details, transport failure reason)
        self.host = host              # upstream host printed?
        self.ust = ust                # upstream service time printed?
        self.bsent = bsent            # fixed bytes sent (local reply body) or None
        self.dur = dur                # duration pool name
        self.dash_cluster = dash_cluster
        self.dash_auth = dash_auth
        self.dpe = dpe
        self.tcp = tcp
        self.keep_ulocal = host if keep_ulocal is None else keep_ulocal


def V(printed):
    return (printed, tuple(printed.split(',')) if printed != '-' else ())


UF_DETS = [
    ('upstream_reset_before_response_started{connection_failure}', '-'),
    ('upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_111}',
     'delayed_connect_error:_111'),
    ('upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}',
     'delayed_connect_error:_111'),
    ('upstream_reset_before_response_started{remote_connection_failure|TLS_error:|268435703:'
     'SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end}',
     'TLS_error:|268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end'),
    ('upstream_reset_before_response_started{connection_failure,TLS_error:_Secret_is_not_supplied_by_SDS}',
     'TLS error: Secret is not supplied by SDS'),
]


def make_scenarios(fmt):
    new_order = fmt in (F_ISTIO, F_JSON, F_EG)
    if new_order:
        ufurx = [V('URX,UF')] * 7 + [V('UF,URX')] * 3
    elif fmt in (F_ENVOY, F_EMISSARY):
        ufurx = [V('URX,UF'), V('UF,URX')]
    else:
        ufurx = [V('UF,URX')] * 9 + [V('URX,UF')]
    S = {}
    S['ok'] = Scenario('ok', [V('-')], None, [('via_upstream', '-')], ust=True, dur='ok')
    S['local_deny'] = Scenario('local_deny', [V('-')], [403, 403, 401],
                               [('rbac_access_denied_matched_policy[none]', '-'),
                                ('rbac_access_denied_matched_policy[ns[default]-policy[deny-all]-rule[0]]', '-'),
                                ('jwt_authn_access_denied{Jwt_is_missing}', '-')],
                               host=False, bsent=19)
    S['DC'] = Scenario('DC', [V('DC')], [0, 0, 0, 0, 200, 206, 101],
                       [('downstream_remote_disconnect', '-')], dur='dc', bsent=0)
    S['UC'] = Scenario('UC', [V('UC')], [503],
                       [('upstream_reset_before_response_started{connection_termination}', '-')],
                       bsent=95, dur='uc')
    S['UO'] = Scenario('UO', [V('UO')], [503],
                       [('upstream_reset_before_response_started{overflow}', '-')],
                       host=False, bsent=81)
    S['UT'] = Scenario('UT', [V('UT')], [504], [('response_timeout', '-')], bsent=24, dur='ut')
    S['NR'] = Scenario('NR', [V('NR')], [404], [('route_not_found', '-')], host=False, bsent=0,
                       dash_cluster=True)
    S['UFURX'] = Scenario('UFURX', ufurx, [503], UF_DETS, bsent=91, dur='uf', keep_ulocal=False)
    S['UF'] = Scenario('UF', [V('UF')], [503], UF_DETS[:3], bsent=91, dur='uf', keep_ulocal=False)
    S['UH'] = Scenario('UH', [V('UH')], [503], [('no_healthy_upstream', '-')], host=False, bsent=19)
    S['URX'] = Scenario('URX', [V('URX')], [503], [('via_upstream', '-')], ust=True, bsent=0, dur='uf')
    S['RL'] = Scenario('RL', [V('RL')], [429], [('local_rate_limited', '-')], host=False, bsent=18)
    S['FI'] = Scenario('FI', [V('FI')], [500, 503], [('fault_filter_abort', '-')], host=False, bsent=18)
    S['DI'] = Scenario('DI', [V('DI')], [200], [('via_upstream', '-')], ust=True, dur='di')
    S['UAEX'] = Scenario('UAEX', [V('UAEX')], [403], [('ext_authz_denied', '-')], host=False, bsent=0)
    S['DPE'] = Scenario('DPE', [V('DPE')], [400], [('http1.codec_error', '-')], host=False, bsent=11,
                        dash_cluster=True, dash_auth=True, dpe=True)
    S['UPE'] = Scenario('UPE', [V('UPE')], [502],
                        [('upstream_reset_before_response_started{protocol_error}', '-')], bsent=87, dur='uc')
    S['NC'] = Scenario('NC', [V('NC')], [503], [('cluster_not_found', '-')], host=False, bsent=0)
    S['SI'] = Scenario('SI', [V('SI')], [408, 0], [('stream_idle_timeout', '-')], bsent=24, dur='si')
    S['UR'] = Scenario('UR', [V('UR')], [503],
                       [('upstream_reset_before_response_started{remote_reset}', '-')], bsent=95, dur='uc')
    S['LR'] = Scenario('LR', [V('LR')], [503],
                       [('upstream_reset_before_response_started{local_reset}', '-')], bsent=95, dur='uc')
    S['UCURX'] = Scenario('UCURX', [V('URX,UC') if new_order else V('UC,URX')], [503],
                          [('upstream_reset_before_response_started{connection_termination}', '-')],
                          bsent=95, dur='uc')
    S['XYZ'] = Scenario('XYZ', [V('XYZ')], [403, 200], [('extension_filter_denied', '-')], host=False, bsent=0)
    # TCP proxy lines ("- - -", code 0)
    S['tcp_ok'] = Scenario('tcp_ok', [V('-')], [0], [('-', '-')], dur='tcp', tcp=True)
    S['tcp_UFURX'] = Scenario('tcp_UFURX', [V('UF,URX')], [0],
                              [('-', '-'), ('-', 'delayed_connect_error:_111'),
                               ('-', 'TLS_error:|268435588:SSL_routines:OPENSSL_internal:'
                                'CLIENTHELLO_TLSEXT:TLS_error_end')],
                              dur='tcpuf', tcp=True, bsent=0, keep_ulocal=False)
    S['tcp_UH'] = Scenario('tcp_UH', [V('UH')], [0], [('-', '-')], host=False, tcp=True, bsent=0)
    S['tcp_UO'] = Scenario('tcp_UO', [V('UO')], [0], [('-', '-')], host=False, tcp=True, bsent=0)
    S['tcp_NR'] = Scenario('tcp_NR', [V('NR')], [0], [('filter_chain_not_found', '-')], host=False,
                           tcp=True, bsent=0, dash_cluster=True)
    S['tcp_DC'] = Scenario('tcp_DC', [V('DC')], [0], [('-', '-')], dur='tcp', tcp=True)
    return S


# background weights per million requests
HTTP_MIX = [('ok', 0), ('local_deny', 3000), ('DC', 9000), ('UC', 3000), ('UO', 1500), ('UT', 2500),
            ('NR', 2500), ('UFURX', 2500), ('UF', 500), ('UH', 1500), ('URX', 1000), ('RL', 800),
            ('FI', 400), ('DI', 200), ('UAEX', 300), ('DPE', 300), ('UPE', 300), ('NC', 200),
            ('SI', 200), ('UR', 200), ('LR', 100), ('UCURX', 200), ('XYZ', 150)]
TCP_MIX = [('tcp_ok', 0), ('tcp_UFURX', 12000), ('tcp_UH', 2000), ('tcp_UO', 500), ('tcp_NR', 3000),
           ('tcp_DC', 2000)]


def spike_scenario(codes, printed, fmt, tcp):
    main = None
    for f in FLAG_PRIORITY:
        if f in codes:
            main = f
            break
    variants = [(printed, tuple(codes))]
    if tcp:
        return Scenario('spike', variants, [0], [('-', '-')], host=main not in ('UH', 'UO', 'NR'),
                        dur='tcpuf' if main == 'UF' else 'tcp', tcp=True, bsent=0,
                        keep_ulocal=main not in ('UF', 'UH', 'UO', 'NR'))
    S = make_scenarios(fmt)
    base = {'UF': 'UF', 'UH': 'UH', 'UO': 'UO', 'UT': 'UT', 'UC': 'UC', 'UR': 'UR', 'LR': 'LR',
            'UPE': 'UPE', 'NC': 'NC', 'NR': 'NR', 'DPE': 'DPE', 'RL': 'RL', 'FI': 'FI',
            'UAEX': 'UAEX', 'SI': 'SI', 'DC': 'DC', 'URX': 'URX', 'DI': 'DI'}.get(main, 'XYZ')
    b = S[base]
    # One failure, one detail: a dead backend writes the same reason on every line (the last
    # of the scenario's, e.g. delayed_connect_error:_111 for UF). As many entries as before,
    # so the random stream, and every other line, stays the same.
    dets = [b.dets[-1]] * len(b.dets)
    # spiked requests always stay on the spiked cluster / authority
    return Scenario('spike', variants, b.codes, dets, host=b.host, ust=b.ust, bsent=b.bsent,
                    dur=b.dur, dpe=False, keep_ulocal=b.keep_ulocal)


# ---------------------------------------------------------------------------------
# the simulated mesh


class Target:
    """One group key (cluster or authority) with everything needed to write its lines."""
    __slots__ = ('key', 'cfield', 'kind', 'auths', 'hosts', 'ulocal_ips', 'dlocals', 'snis',
                 'routes', 'paths', 'weight', 'mix', 'spikes', 'semicolon', 'svc')

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        if self.spikes is None:
            self.spikes = []


def rand_ip10(rng):
    return f'10.{rng.choice((244, 244, 244, 42, 1, 128))}.{rng.randrange(0, 16)}.{rng.randrange(2, 254)}'


def rand_ipv6(rng):
    return f'fd00:10:244:{rng.randrange(1, 16):x}::{rng.randrange(2, 0xfff):x}'


def public_ip(rng):
    return f'{rng.choice((3, 13, 18, 23, 34, 35, 52, 54, 104, 142, 151, 172, 185))}.{rng.randrange(1, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}'


def make_paths(rng, svc, n=48):
    res = svc.replace('-', '')
    words = ['shoes', 'red%20dress', 'laptop', 'coffee', 'k8s', 'istio', 'envoy', 'caf%C3%A9']
    out = []
    for _ in range(n):
        k = rng.randrange(16)
        i = rng.randrange(1, 99999)
        if k == 0:
            out.append(f'/api/v1/{res}')
        elif k in (1, 2):
            out.append(f'/api/v1/{res}/{i}')
        elif k == 3:
            out.append(f'/api/v1/{res}?page={rng.randrange(1, 40)}&size={rng.choice((10, 20, 50, 100))}')
        elif k == 4:
            out.append(f'/{res}/{i}')
        elif k == 5:
            out.append(rng.choice(('/health', '/healthz/ready', '/readyz', '/metrics', '/status/200')))
        elif k == 6:
            out.append(f'/static/js/main.{rng.getrandbits(32):08x}.js')
        elif k == 7:
            out.append(f'/search?q={rng.choice(words)}&sort=price%2Cdesc&lang=en-US')
        elif k == 8:
            cap = ''.join(p.capitalize() for p in svc.split('-'))
            out.append(f'/{res}.v1.{cap}Service/{rng.choice(("Get", "List", "Create", "Watch"))}{cap}')
        elif k == 9:
            out.append(f'/images/{rng.getrandbits(64):016x}.jpg?w={rng.choice((320, 640, 1280))}&h=480')
        elif k == 10:
            # long tracking query string
            q = '&'.join(f'{p}={rng.getrandbits(40):010x}' for p in
                         ('utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'fbclid', 'session',
                          'ref', 'trk')[:rng.randrange(3, 9)])
            out.append(f'/{res}/landing?{q}')
        elif k == 11:
            out.append(f'/api/v2/{res}/{i}/items?include=details,reviews&fields[{res}]=id,name')
        elif k == 12:
            out.append(f'/v1/{res}:batchGet?names=a%2Fb&names=c%2Fd')
        elif k == 13:
            out.append(f'/{res}/{i}/comments?since=2026-06-28T12%3A00%3A00Z&limit=25')
        elif k == 14:
            out.append(f'/graphql?operationName=Get{res.capitalize()}&variables=%7B%22id%22%3A{i}%7D')
        else:
            out.append('/')
    return out


def build_world(rng, fmt, nclusters, spikes):
    old_inbound = fmt in (F_11, F_12, F_13)
    envoyish = fmt in (F_ENVOY, F_EMISSARY)
    gateway = fmt == F_EG
    client_ips = [rand_ip10(rng) for _ in range(96)]
    targets = []
    used = set()

    def svc_port(rng):
        return rng.choice(HTTP_PORTS)

    def endpoints(port, n, v6=False, ambient=False, tcpurl=False):
        out = []
        for _ in range(n):
            if ambient:
                out.append(f'envoy://connect_originate/{rand_ip10(rng)}:{port}')
            elif v6:
                out.append(f'[{rand_ipv6(rng)}]:{port}')
            elif tcpurl:
                out.append(f'tcp://{rand_ip10(rng)}:{port}')
            else:
                out.append(f'{rand_ip10(rng)}:{port}')
        return out

    def zipf_weight(i):
        return 1.0 / (i + 1.5) ** 0.9

    if envoyish or gateway:
        # Front proxy / gateway: one authority (or HTTPRoute cluster) per backend.
        n = max(1, nclusters)
        i = 0
        tries = 0
        while len(targets) < n and tries < 100000:
            tries += 1
            svc = rng.choice(SERVICES)
            ns = rng.choice(NAMESPACES)
            port = svc_port(rng)
            form = rng.random()
            if form < 0.45:
                auth = f'{svc}.{rng.choice(DOMAINS)}'
            elif form < 0.70:
                auth = f'{svc}:{port}'
            elif form < 0.85:
                auth = f'{svc}.{ns}.svc.cluster.local:{port}'
            elif form < 0.93:
                auth = f'{svc}.{ns}:{port}'
            else:
                auth = f'localhost:{rng.choice((8000, 8080, 10000, 30080))}'
            if gateway:
                rule = rng.randrange(0, 3)
                key = f'httproute/{ns}/{svc}/rule/{rule}'
                if key in used:
                    continue
                host = f'{svc}.{rng.choice(DOMAINS)}'
                routes = [f'httproute/{ns}/{svc}/rule/{rule}/match/{m}/{host.replace(".", "_")}'
                          for m in range(rng.randrange(1, 3))]
                auths = [host]
            else:
                key = auth
                if key in used:
                    continue
                routes = ['-']
                auths = [auth]
            used.add(key)
            v6 = rng.random() < 0.08
            hosts = endpoints(port, rng.randrange(1, 7), v6=v6, tcpurl=(not gateway and rng.random() < 0.03))
            targets.append(Target(key=key, cfield=key, kind='http', auths=auths, hosts=hosts,
                                  ulocal_ips=client_ips[:8], dlocals=[f'{rand_ip10(rng)}:10080', '127.0.0.1:10080'],
                                  snis=['-'] if rng.random() < 0.7 else [host if gateway else auth.split(':')[0]],
                                  routes=routes, paths=make_paths(rng, svc), weight=zipf_weight(i),
                                  mix='http', svc=svc))
            i += 1
    else:
        n = max(5, nclusters)
        n_inbound = max(1, n // 12)
        n_tcp = max(1, n // 12)
        n_ext = max(1, min(len(EXTERNAL_HTTP) + len(EXTERNAL_TLS), n // 15))
        n_out = max(1, n - 2 - n_inbound - n_tcp - n_ext)
        rank = 0
        tries = 0
        # outbound HTTP services
        while sum(1 for t in targets if t.mix == 'http') < n_out and tries < 100000:
            tries += 1
            svc = rng.choice(SERVICES)
            ns = rng.choice(NAMESPACES)
            port = svc_port(rng)
            subset = rng.choice(SUBSETS) if rng.random() < 0.2 else ''
            host_fqdn = f'{svc}.{ns}.svc.cluster.local'
            key = f'outbound|{port}|{subset}|{host_fqdn}'
            if key in used:
                continue
            used.add(key)
            auths = [f'{svc}:{port}', f'{svc}.{ns}:{port}', f'{svc}.{ns}.svc.cluster.local:{port}', svc,
                     f'{svc}.{rng.choice(DOMAINS)}']
            auths = auths[:rng.randrange(1, 6)]
            ambient = rng.random() < 0.05 and fmt == F_ISTIO   # same draws for every Istio format
            v6 = not ambient and rng.random() < 0.08
            hosts = endpoints(rng.choice((port, 8080, 9080, 3000)), rng.randrange(1, 9), v6=v6, ambient=ambient)
            vip = f'10.96.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}:{port}'
            targets.append(Target(key=key, cfield=key, kind='http', auths=auths, hosts=hosts,
                                  ulocal_ips=['envoy://internal_client_address/'] if ambient else client_ips,
                                  dlocals=[vip], snis=['-'],
                                  routes=['default', 'default', '-', f'{svc}.{ns}.0'] if fmt != F_11 else ['-'],
                                  paths=make_paths(rng, svc), weight=zipf_weight(rank), mix='http', svc=svc))
            rank += 1
        # inbound clusters (shared per port from 1.8 on)
        tries = 0
        while sum(1 for t in targets if t.mix == 'inbound') < n_inbound and tries < 100000:
            tries += 1
            svc = rng.choice(SERVICES)
            ns = rng.choice(NAMESPACES)
            port = svc_port(rng)
            key = f'inbound|{port}|http|{svc}.{ns}.svc.cluster.local' if old_inbound else f'inbound|{port}||'
            if key in used:
                continue
            used.add(key)
            pod_ips = [rand_ip10(rng) for _ in range(rng.randrange(1, 5))]
            targets.append(Target(key=key, cfield=key, kind='http', auths=[f'{svc}:{port}', f'{svc}.{ns}:{port}'],
                                  hosts=[f'127.0.0.1:{port}'] if old_inbound else [f'{ip}:{port}' for ip in pod_ips],
                                  ulocal_ips=['127.0.0.1' if old_inbound else '127.0.0.6'],
                                  dlocals=[f'{ip}:{port}' for ip in pod_ips],
                                  snis=[f'outbound_.{port}_._.{svc}.{ns}.svc.cluster.local', '-'],
                                  routes=['default'] if fmt != F_11 else ['-'],
                                  paths=make_paths(rng, svc), weight=zipf_weight(rank // 2) * 0.8,
                                  mix='inbound', svc=svc))
        # TCP services
        tries = 0
        while sum(1 for t in targets if t.mix == 'tcp') < n_tcp and tries < 100000:
            tries += 1
            svc, port = rng.choice(TCP_SERVICES)
            ns = rng.choice(NAMESPACES)
            key = f'outbound|{port}||{svc}.{ns}.svc.cluster.local'
            if key in used:
                continue
            used.add(key)
            targets.append(Target(key=key, cfield=key, kind='tcp', auths=['-'],
                                  hosts=endpoints(port, rng.randrange(1, 4)), ulocal_ips=client_ips,
                                  dlocals=[f'10.96.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}:{port}'],
                                  snis=['-'], routes=['-'], paths=['-'], weight=zipf_weight(rank) * 0.5,
                                  mix='tcp', svc=svc))
        # external services (ServiceEntry)
        exts = [(h, 'http') for h in EXTERNAL_HTTP] + [(h, 'tls') for h in EXTERNAL_TLS]
        rng.shuffle(exts)
        for h, kind in exts[:n_ext]:
            if kind == 'http':
                key = f'outbound|80||{h}'
                hosts = [f'{public_ip(rng)}:80' for _ in range(3)]
                targets.append(Target(key=key, cfield=key, kind='http', auths=[h], hosts=hosts,
                                      ulocal_ips=client_ips, dlocals=[f'{public_ip(rng)}:80'], snis=['-'],
                                      routes=['default', '-'], paths=make_paths(rng, 'api'),
                                      weight=0.02, mix='http', svc=h))
            else:
                key = f'outbound|443||{h}'
                hosts = [f'{public_ip(rng)}:443' for _ in range(3)]
                targets.append(Target(key=key, cfield=key, kind='tcp', auths=['-'], hosts=hosts,
                                      ulocal_ips=client_ips, dlocals=[f'{public_ip(rng)}:443'], snis=[h],
                                      routes=['-'], paths=['-'], weight=0.02, mix='tcp', svc=h))
            used.add(key)
        # Passthrough and BlackHole
        pt_hosts = [f'{public_ip(rng)}:{rng.choice((443, 443, 80, 9092))}' for _ in range(40)]
        targets.append(Target(key='PassthroughCluster', cfield='PassthroughCluster', kind='passthrough',
                              auths=['-'], hosts=pt_hosts, ulocal_ips=client_ips, dlocals=pt_hosts,
                              snis=['-'], routes=['-', 'allow_any'], paths=make_paths(rng, 'external'),
                              weight=0.03, mix='tcp', svc='passthrough'))
        targets.append(Target(key='BlackHoleCluster', cfield='BlackHoleCluster', kind='blackhole',
                              auths=['-'], hosts=['-'], ulocal_ips=client_ips,
                              dlocals=[f'{public_ip(rng)}:443' for _ in range(20)], snis=['-'],
                              routes=['-'], paths=['-'], weight=0.005, mix='blackhole', svc='blackhole'))
        if fmt == F_JSON:
            for t in targets:
                t.semicolon = rng.random() < 0.3

    # spikes: attach to an existing target, or create one
    for spec in spikes:
        cname, printed, codes, start_ms, end_ms, share = spec
        tgt = None
        for t in targets:
            if t.key == cname:
                tgt = t
                break
        if tgt is None and envoyish:
            # an Istio-style cluster name: use the authority of that service if we have it
            m = re.fullmatch(r'outbound\|\d+\|[^|]*\|([^.]+)\..*', cname)
            if m:
                for t in targets:
                    if t.svc == m.group(1):
                        tgt = t
                        break
        if tgt is None:
            m = re.fullmatch(r'(?:outbound|inbound)\|(\d+)\|[^|]*\|(.*)', cname)
            port = int(m.group(1)) if m else 8080
            svc = (m.group(2).split('.')[0] if m and m.group(2) else 'spiked') or 'spiked'
            med = sorted(t.weight for t in targets)[len(targets) // 2] if targets else 1.0
            auths = [cname] if envoyish else ([f'{svc}:{port}'] if not gateway else [f'{svc}.example.com'])
            tgt = Target(key=cname, cfield=cname, kind='http', auths=auths,
                         hosts=endpoints(port, 3), ulocal_ips=client_ips,
                         dlocals=[f'10.96.{rng.randrange(0, 255)}.{rng.randrange(1, 255)}:{port}'],
                         snis=['-'], routes=['default'], paths=make_paths(rng, svc), weight=med,
                         mix='http', svc=svc)
            targets.append(tgt)
        tgt.spikes.append((start_ms, end_ms, share,
                           spike_scenario(codes, printed, fmt, tgt.kind in ('tcp', 'blackhole'))))
    return targets, client_ips


# ---------------------------------------------------------------------------------
# generator


class Generator:
    def __init__(self, args):
        self.args = args
        self.fmt = FORMATS.index(args.format)
        self.rng = rng = random.Random(args.seed)
        mesh_seed = args.seed if args.mesh_seed is None else args.mesh_seed
        wrng = random.Random(f'mesh:{mesh_seed}')
        self.targets, self.client_ips = build_world(wrng, self.fmt, args.clusters, args.spike)
        self.scen = make_scenarios(self.fmt)
        scale = args.error_scale
        self.mix_tables = {}
        for name, mix in (('http', HTTP_MIX), ('inbound', HTTP_MIX), ('tcp', TCP_MIX)):
            items = [(self.scen[n], w * scale) for n, w in mix[1:]]
            rest = 1_000_000 - sum(w for _, w in items)
            if rest < 0:
                raise SystemExit('--error-scale too large')
            items.insert(0, (self.scen[mix[0][0]], rest))
            self.mix_tables[name] = weighted_table(rng, items)
        self.mix_tables['blackhole'] = [self.scen['tcp_UH']] * (1 << 16)
        self.target_table = weighted_table(rng, [(t, t.weight) for t in self.targets])
        self.method_table = weighted_table(rng, METHODS, 10)
        self.proto_table = weighted_table(rng, PROTOCOLS_HTTP, 10)
        self.okcode_table = weighted_table(rng, OK_CODES, 12)
        self.ua_table = weighted_table(rng, [(u, 1.0 / (i + 2)) for i, u in enumerate(USER_AGENTS)], 12)
        # durations (ms) and sizes
        R = rng
        P = 1 << 13

        def pool(fn):
            return [fn() for _ in range(P)]

        def okdur():
            x = R.random()
            if x < 0.004:
                return log_uniform(R, 1000, 60000)      # long requests, tens of seconds
            if x < 0.02:
                return log_uniform(R, 300, 5000)
            return int(R.lognormvariate(math.log(12), 1.1))
        self.dur_pools = {
            'ok': pool(okdur),
            'zero': pool(lambda: 0 if R.random() < 0.8 else R.randrange(1, 4)),
            'dc': pool(lambda: log_uniform(R, 20, 45000)),
            'ut': pool(lambda: R.choice((1000, 3000, 5000, 15000, 15000, 15000)) + R.randrange(0, 4)),
            'uf': pool(lambda: R.randrange(0, 60) if R.random() < 0.85 else log_uniform(R, 1000, 10100)),
            'uc': pool(lambda: log_uniform(R, 1, 3000)),
            'si': pool(lambda: 300000 + R.randrange(0, 20)),
            'di': pool(lambda: R.choice((1000, 2000, 5000, 7000)) + R.randrange(0, 30)),
            'tcp': pool(lambda: log_uniform(R, 2, 60000)),
            'tcpuf': pool(lambda: (10000 if R.random() < 0.7 else 1000) + R.randrange(0, 15)),
        }
        self.bs_pool = pool(lambda: int(R.lognormvariate(math.log(600), 1.4)))
        self.br_pool = pool(lambda: int(R.lognormvariate(math.log(300), 1.2)))
        self.tcpbytes_pool = pool(lambda: log_uniform(R, 200, 2_000_000))
        xff = []
        for _ in range(P):
            x = R.random()
            a = public_ip(R)
            if x < 0.60:
                xff.append('-')
            elif x < 0.85:
                xff.append(a)
            elif x < 0.93:
                xff.append(f'{a},{rand_ip10(R)}')
            elif x < 0.99:
                xff.append(f'{a}, {rand_ip10(R)}')
            else:
                xff.append(f'{a}, {public_ip(R)}, {rand_ip10(R)}')
        self.xff_pool = xff
        if self.fmt in (F_ENVOY, F_EMISSARY):
            self.uuid_ver = '4' * 16
        else:
            self.uuid_ver = '9999999999aab444'
        # JSON key orders
        self.json_orders = []
        if self.fmt == F_JSON:
            keys = ['start_time', 'route_name', 'method', 'path', 'protocol', 'response_code',
                    'response_flags', 'response_code_details', 'connection_termination_details',
                    'bytes_received', 'bytes_sent', 'duration', 'upstream_service_time',
                    'x_forwarded_for', 'user_agent', 'request_id', 'authority', 'upstream_host',
                    'upstream_cluster', 'upstream_local_address', 'downstream_local_address',
                    'downstream_remote_address', 'requested_server_name',
                    'upstream_transport_failure_reason']
            for _ in range(64):
                k = keys[:]
                R.shuffle(k)
                self.json_orders.append(k)
        self.pods = [f'{s}-{wrng.getrandbits(40):010x}-'
                     f'{"".join(wrng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))}'
                     for s in ('istio-ingressgateway', 'reviews-v1', 'productpage-v1', 'ratings-v1')]
        self.sec_cache = {}
        # truth
        self.req = {}
        self.flagc = {}
        self.records = 0
        self.malformed = 0
        self.first_malformed = True
        self.last_cri_ns = 0

    # -- time formatting
    def sec_prefix(self, sec):
        c = self.sec_cache
        p = c.get(sec)
        if p is None:
            if len(c) > 200000:
                c.clear()
            p = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))
            c[sec] = p
        return p

    # -- one access-log record
    def record(self, end_ms, count=True):
        """Return one access-log line (without newline) for a request ending at end_ms.
        If count, add it to the ground truth."""
        rng = self.rng
        rbits = rng.getrandbits
        rand = rng.random
        fmt = self.fmt
        quoted_rate = self.args.quoted_ua_rate
        tgt = self.target_table[rbits(16)]
        sc = None
        if tgt.spikes:
            off = end_ms - self.args.start
            for s0, s1, share, ssc in tgt.spikes:
                if s0 <= off < s1 and rand() < share:
                    sc = ssc
                    break
        if sc is None:
            sc = self.mix_tables[tgt.mix][rbits(16)]
        tcp = sc.tcp
        if tgt.kind == 'passthrough' and sc.name != 'spike':
            # mostly TCP, some plain HTTP through PassthroughCluster; no UH/UO there
            if sc.name == 'tcp_ok' and rand() < 0.3:
                sc = self.scen['ok']
                tcp = False
            elif sc.name in ('tcp_UH', 'tcp_UO'):
                sc = self.scen['tcp_ok']
        if fmt in (F_ENVOY, F_EMISSARY, F_EG) and tcp:
            sc = self.scen['ok']
            tcp = False
        variants = sc.variants
        printed, codes = variants[rbits(12) % len(variants)] if len(variants) > 1 else variants[0]
        dur = self.dur_pools[sc.dur][rbits(13)]
        if tcp:
            code = 0
            method = path = proto = '-'
            ua = xff = rid = auth = '-'
            if sc.name == 'tcp_ok' or sc.name == 'tcp_DC' or (sc.name == 'spike' and sc.dur == 'tcp'):
                br = self.tcpbytes_pool[rbits(13)] // 3
                bs = self.tcpbytes_pool[rbits(13)]
            else:
                br = bs = 0
            ust = '-'
        else:
            if sc.dpe:
                method = path = '-'
                proto = 'HTTP/1.1'
                ua = xff = rid = auth = '-'
            else:
                method = self.method_table[rbits(10)]
                paths = tgt.paths
                path = paths[rbits(16) % len(paths)]
                proto = self.proto_table[rbits(10)]
                ua = self.ua_table[rbits(12)]
                if quoted_rate and rand() < quoted_rate:
                    ua = QUOTED_UAS[rbits(8) % 3]
                xff = self.xff_pool[rbits(13)]
                n = rbits(128)
                h = '%032x' % n
                rid = f'{h[:8]}-{h[8:12]}-{self.uuid_ver[n >> 124]}{h[13:16]}-{"89ab"[(n >> 60) & 3]}{h[17:20]}-{h[20:]}'
                auths = tgt.auths
                auth = '-' if sc.dash_auth else auths[rbits(8) % len(auths)]
            codes_l = sc.codes
            if codes_l is None:
                code = self.okcode_table[rbits(12)]
            else:
                code = codes_l[rbits(8) % len(codes_l)] if len(codes_l) > 1 else codes_l[0]
            if method in ('GET', 'HEAD', 'DELETE', 'OPTIONS', '-'):
                br = 0
            else:
                br = self.br_pool[rbits(13)]
            if sc.bsent is None:
                bs = 0 if code in (204, 304) or method == 'HEAD' else self.bs_pool[rbits(13)]
            else:
                bs = sc.bsent
            ust = str(max(0, dur - (rbits(2)))) if sc.ust else '-'
        dets = sc.dets
        details, utfr = dets[rbits(8) % len(dets)] if len(dets) > 1 else dets[0]
        if sc.host:
            hosts = tgt.hosts
            host = hosts[rbits(8) % len(hosts)]
        else:
            host = '-'
        cfield = '-' if sc.dash_cluster else tgt.cfield
        if count:
            if fmt in (F_ENVOY, F_EMISSARY):
                key = auth
            else:
                key = cfield
            self.records += 1
            req = self.req
            req[key] = req.get(key, 0) + 1
            if codes:
                fc = self.flagc.get(key)
                if fc is None:
                    fc = self.flagc[key] = {}
                for c in codes:
                    fc[c] = fc.get(c, 0) + 1
        start_ms = end_ms - dur
        sec, milli = divmod(start_ms, 1000)
        ts = f'{self.sec_prefix(sec)}.{milli:03d}Z'
        if fmt in (F_ENVOY, F_EMISSARY):
            line = (f'[{ts}] "{method} {path} {proto}" {code} {printed} {br} {bs} {dur} {ust} '
                    f'"{xff}" "{ua}" "{rid}" "{auth}" "{host}"')
            return 'ACCESS ' + line if fmt == F_EMISSARY else line
        # addresses
        cips = self.client_ips
        cip = cips[rbits(16) % len(cips)]
        drem = f'{cip}:{32768 + rbits(15) % 28000}'
        dlocals = tgt.dlocals
        dloc = dlocals[rbits(8) % len(dlocals)]
        if sc.keep_ulocal and host != '-':
            ul = tgt.ulocal_ips
            uip = ul[rbits(8) % len(ul)]
            if uip.startswith('envoy://'):
                uloc = uip
            elif uip.startswith('127.') or tgt.mix != 'http':
                uloc = f'{uip}:{32768 + rbits(15) % 28000}'
            else:
                uloc = f'{cip}:{32768 + rbits(15) % 28000}'
            if fmt in (F_11, F_12, F_13) and rbits(2):
                uloc = '-'
        else:
            uloc = '-'
        if tgt.kind == 'passthrough' or tgt.kind == 'blackhole' or (tgt.mix == 'inbound' and host != '-'):
            dloc = host if host != '-' else dlocals[rbits(8) % len(dlocals)]
        snis = tgt.snis
        sni = snis[rbits(8) % len(snis)]
        routes = tgt.routes
        route = '-' if sc.dash_cluster else routes[rbits(8) % len(routes)]
        if fmt == F_ISTIO:
            return (f'[{ts}] "{method} {path} {proto}" {code} {printed} {details} - "{utfr}" {br} {bs} '
                    f'{dur} {ust} "{xff}" "{ua}" "{rid}" "{auth}" "{host}" {cfield} {uloc} {dloc} '
                    f'{drem} {sni} {route}')
        if fmt in (F_JSON, F_EG):
            return self.json_line(ts, method, path, proto, code, printed, details, utfr, br, bs, dur,
                                  ust, xff, ua, rid, auth, host, cfield, uloc, dloc, drem, sni, route,
                                  tgt, tcp)
        # older Istio: spaces in the transport failure reason, UF shown with older text
        if utfr.startswith('TLS_error:|'):
            utfr = 'TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER'
        elif utfr.startswith('delayed_connect_error'):
            utfr = '-'
        if fmt == F_18:
            return (f'[{ts}] "{method} {path} {proto}" {code} {printed} "{utfr}" {br} {bs} {dur} {ust} '
                    f'"{xff}" "{ua}" "{rid}" "{auth}" "{host}" {cfield} {uloc} {dloc} {drem} {sni} {route}')
        if fmt == F_13:
            return (f'[{ts}] "{method} {path} {proto}" {code} {printed} "-" "{utfr}" {br} {bs} {dur} {ust} '
                    f'"{xff}" "{ua}" "{rid}" "{auth}" "{host}" {cfield} {uloc} {dloc} {drem} {sni} {route}')
        if fmt == F_12:
            return (f'[{ts}] "{method} {path} {proto}" {code} {printed} "-" "{utfr}" {br} {bs} {dur} {ust} '
                    f'"{xff}" "{ua}" "{rid}" "{auth}" "{host}" {cfield} {uloc} {dloc} {drem} {sni}')
        # F_11
        return (f'[{ts}] "{method} {path} {proto}" {code} {printed} "-" {br} {bs} {dur} {ust} '
                f'"{xff}" "{ua}" "{rid}" "{auth}" "{host}" {cfield} {uloc} {dloc} {drem} {sni}')

    def json_line(self, ts, method, path, proto, code, printed, details, utfr, br, bs, dur, ust, xff,
                  ua, rid, auth, host, cfield, uloc, dloc, drem, sni, route, tgt, tcp):
        def n(v):
            return None if v == '-' else v
        if self.fmt == F_JSON:
            cl = n(cfield)
            if cl is not None and tgt.semicolon and self.rng.random() < 0.9:
                cl = cl + ';'
            vals = {
                'start_time': ts, 'route_name': n(route), 'method': n(method), 'path': n(path),
                'protocol': n(proto), 'response_code': code, 'response_flags': printed,
                'response_code_details': n(details), 'connection_termination_details': None,
                'bytes_received': br, 'bytes_sent': bs, 'duration': dur,
                'upstream_service_time': n(ust), 'x_forwarded_for': n(xff), 'user_agent': n(ua),
                'request_id': n(rid), 'authority': n(auth), 'upstream_host': n(host),
                'upstream_cluster': cl, 'upstream_local_address': n(uloc),
                'downstream_local_address': dloc, 'downstream_remote_address': drem,
                'requested_server_name': n(sni), 'upstream_transport_failure_reason': n(utfr),
            }
            order = self.json_orders[self.rng.getrandbits(6)]
            d = {k: vals[k] for k in order}
        else:
            d = {
                ':authority': n(auth), 'bytes_received': br, 'bytes_sent': bs,
                'connection_termination_details': None, 'downstream_local_address': dloc,
                'downstream_remote_address': drem, 'duration': dur, 'method': n(method),
                'protocol': n(proto), 'requested_server_name': n(sni), 'response_code': code,
                'response_code_details': n(details), 'response_flags': printed,
                'route_name': n(route), 'start_time': ts, 'upstream_cluster': n(cfield),
                'upstream_host': n(host), 'upstream_local_address': n(uloc),
                'upstream_transport_failure_reason': n(utfr), 'user-agent': n(ua),
                'x-envoy-origin-path': n(path), 'x-envoy-upstream-service-time': n(ust),
                'x-forwarded-for': n(xff), 'x-request-id': n(rid),
            }
        return json.dumps(d, separators=(',', ':'), ensure_ascii=False)

    # -- malformed lines
    def malformed_line(self, end_ms):
        rng = self.rng
        a = self.args
        fmt = self.fmt
        huge_ok = not a.no_huge and a.wrap != 'cri'
        if huge_ok and (self.first_malformed or rng.random() < 0.005):
            kind = 'huge'
        else:
            x = rng.random()
            kind = 'trunc' if x < 0.45 else ('noise' if x < 0.85 else 'bytes')
        self.first_malformed = False
        self.malformed += 1
        sec, milli = divmod(end_ms, 1000)
        micro = milli * 1000 + rng.randrange(1000)
        ts = f'{self.sec_prefix(sec)}.{micro:06d}Z'
        if kind == 'trunc':
            full = self.record(end_ms, count=False)
            if fmt in (F_JSON, F_EG):
                cut = rng.randrange(10, len(full) - 1)
            else:
                # cut before the X-Forwarded-For field: fewer than 13 fields whatever the format
                lim = full.find(' "', full.find('" ') + 2)
                lim = max(lim, 14)
                cut = rng.randrange(12, lim)
            return full[:cut]
        if kind == 'noise':
            t = NOISE_TEMPLATES[rng.randrange(len(NOISE_TEMPLATES))]
            ets = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(sec)) + f'.{milli:03d}'
            return t.format(ts=ts, ets=ets, pod=self.pods[0])
        if kind == 'bytes':
            n = rng.randrange(20, 300)
            b = bytes(v for v in rng.randbytes(n + 16) if v not in (10, 13))[:n]
            first = chr(rng.randrange(0x80, 0x100))
            return first + b.decode('latin-1')
        # huge (> 64 KiB) single line
        size = 65536 + rng.randrange(1024, 40000)
        parts = [HUGE_TEMPLATE.format(ts=ts)]
        total = len(parts[0])
        i = 0
        while total < size:
            p = (f'virtualOutbound-catchall-tcp-{i}: duplicate listener 0.0.0.0_{8000 + i % 2000} found, '
                 f'filter chain match {{"destination_port":{8000 + i % 2000},"server_names":["svc{i}.ns.svc.cluster.local"]}}; ')
            parts.append(p)
            total += len(p)
            i += 1
        return ''.join(parts)

    # -- collector prefixes
    def wrap(self, line, end_ms):
        w = self.args.wrap
        if w == 'none':
            return line
        rng = self.rng
        if w == 'kubectl':
            return f'[pod/{self.pods[rng.getrandbits(2)]}/istio-proxy] {line}'
        if w == 'stern':
            return f'{self.pods[rng.getrandbits(2)]} istio-proxy {line}'
        if w == 'compose':
            return f'envoy-{1 + rng.getrandbits(1)}  | {line}'
        # cri
        ns = max(self.last_cri_ns + rng.randrange(1, 5000), end_ms * 1_000_000 + rng.randrange(0, 900_000))
        self.last_cri_ns = ns
        sec, frac = divmod(ns, 1_000_000_000)
        return f'{self.sec_prefix(sec)}.{frac:09d}Z stdout F {line}'

    # -- main loop
    def run(self, out):
        a = self.args
        rng = self.rng
        rand = rng.random
        clock = float(a.start)
        mean_gap = 1000.0 / a.rate
        mrate = a.malformed_rate
        brate = a.blank_rate
        target_lines = a.lines
        target_bytes = a.bytes
        written = 0
        lines_done = 0
        avg = 400.0
        wrap = a.wrap != 'none'
        log = math.log
        while True:
            if target_lines is not None:
                remaining = target_lines - lines_done
                if remaining <= 0:
                    break
                batch = min(4096, remaining)
            else:
                remaining = target_bytes - written
                if remaining <= 0:
                    break
                batch = int(max(1, min(4096, remaining / avg)))
            buf = []
            append = buf.append
            for _ in range(batch):
                clock += -log(1.0 - rand()) * mean_gap
                end_ms = int(clock)
                if brate and rand() < brate:
                    append('')
                if mrate and rand() < mrate:
                    line = self.malformed_line(end_ms)
                else:
                    line = self.record(end_ms)
                if wrap:
                    line = self.wrap(line, end_ms)
                append(line)
            data = ('\n'.join(buf) + '\n').encode('latin-1')
            out.write(data)
            written += len(data)
            lines_done += batch
            avg = max(50.0, written / max(1, lines_done))
        return lines_done, written

    def truth(self):
        groups = []
        for key in sorted(self.req):
            fc = self.flagc.get(key, {})
            groups.append({'cluster': key, 'requests': self.req[key],
                           'flags': {c: fc[c] for c in sorted(fc)}})
        total = {}
        for fc in self.flagc.values():
            for c, v in fc.items():
                total[c] = total.get(c, 0) + v
        return {
            'format': self.args.format,
            'groupBy': 'authority' if self.fmt in (F_ENVOY, F_EMISSARY) else 'cluster',
            'lines': self.records + self.malformed,
            'records': self.records,
            'malformed': self.malformed,
            'flags': {c: total[c] for c in sorted(total)},
            'clusters': groups,
        }


def main(argv=None):
    p = argparse.ArgumentParser(
        prog='generate.py',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split('\n\n')[0] + '\n\n' + '\n\n'.join(__doc__.split('\n\n')[1:]),
        epilog='''examples:
  generate.py --format istio --lines 1000 --seed 7
  generate.py --format istio --bytes 1G --seed 1 -o /tmp/istio-1g.log --truth /tmp/istio-1g.truth.json
  generate.py --format envoy --lines 200000 --malformed-rate 0.001 -o envoy.log --truth envoy.truth.json
  generate.py --format istio --lines 50000 --start 2026-06-28T15:00:00Z --rate 50 \\
      --spike 'outbound|9080||reviews.default.svc.cluster.local:UF,URX:600:120:0.6'

spikes:
  --spike CLUSTER:FLAGS:START_OFFSET_S:DURATION_S:SHARE (repeatable). Split from the right,
  so CLUSTER may contain ':' and '|'. From START_OFFSET_S seconds after --start, for DURATION_S
  seconds of the line clock (the request END time, i.e. the order lines are written; failing
  requests are short, so their START_TIMEs fall in the same window within ~100 ms), SHARE of
  that cluster's requests fail with exactly FLAGS as printed (e.g. UF,URX -> 503
  upstream_reset_before_response_started{connection_failure}). CLUSTER is the group key:
  an Istio cluster, or for envoy/emissary the :authority (an Istio cluster name is mapped to
  that service's authority there). An unknown CLUSTER is added to the mesh with a median
  traffic share.

malformed lines (--malformed-rate R, share of counted lines):
  truncated access lines (cut before the X-Forwarded-For field; JSON cut mid-object),
  istio-proxy / Envoy application log lines (tab-separated pilot-agent lines and
  '[2026-06-28 15:11:44.812][21][warning][config] ...'), random bytes (no newline, first byte
  >= 0x80), and, unless --no-huge or --wrap cri, one line longer than 64 KiB (the first
  malformed line; later ones with 0.5% chance). Blank lines ('' only) are added at
  --blank-rate (default R/4); they are not counted.

wrapping (--wrap): every counted line (records and malformed) gets the collector prefix;
  blank lines stay empty. kubectl: '[pod/NAME/istio-proxy] ' (kubectl logs --prefix),
  stern: 'NAME istio-proxy ', compose: 'envoy-1  | ', cri: '2026-06-28T15:11:44.812345678Z
  stdout F ' (CRI container-log format; no >64 KiB lines, the runtime would split them).
''')
    p.add_argument('--format', choices=FORMATS, default='istio', help='log format (default istio = Istio 1.9+)')
    size = p.add_mutually_exclusive_group()
    size.add_argument('--lines', type=parse_size, metavar='N',
                      help='number of counted lines (records + malformed); default 1000')
    size.add_argument('--bytes', type=parse_size, metavar='N',
                      help='approximate output size, suffixes K/M/G (powers of 1024), e.g. 1G')
    p.add_argument('--seed', type=int, default=1, help='random seed (default 1)')
    p.add_argument('-o', '--output', metavar='FILE', help='output file (default stdout)')
    p.add_argument('--truth', metavar='FILE', help='write the ground truth JSON here')
    p.add_argument('--start', type=parse_start, default=parse_start('2026-06-28T15:00:00Z'),
                   metavar='RFC3339',
                   help='clock start: request END times run from here (default 2026-06-28T15:00:00Z)')
    p.add_argument('--rate', type=float, default=200.0, metavar='LINES_PER_SEC',
                   help='mean requests per second of the clock (default 200)')
    p.add_argument('--clusters', type=int, default=40, metavar='N',
                   help='number of clusters / authorities in the mesh, about 20-200 (default 40)')
    p.add_argument('--spike', type=parse_spike, action='append', default=[],
                   metavar='CLUSTER:FLAGS:START_S:DURATION_S:SHARE', help='inject a failure spike (repeatable)')
    p.add_argument('--malformed-rate', type=float, default=0.0, metavar='R',
                   help='share of malformed lines, e.g. 0.001 (default 0)')
    p.add_argument('--blank-rate', type=float, default=None, metavar='R',
                   help='share of extra blank lines (default: malformed-rate / 4)')
    p.add_argument('--quoted-ua-rate', type=float, default=0.001, metavar='R',
                   help='share of user agents holding a client-injected \'"\' (default 0.001)')
    p.add_argument('--mesh-seed', type=int, default=None, metavar='N',
                   help='seed of the simulated mesh (clusters, hosts, pods); default --seed. '
                        'Two runs with one --mesh-seed and different --seed share a mesh')
    p.add_argument('--no-huge', action='store_true', help='never write a line over 64 KiB')
    p.add_argument('--error-scale', type=float, default=1.0, metavar='X',
                   help='multiply the background flag noise (about 2.7%% of HTTP requests carry a flag) by X')
    p.add_argument('--wrap', choices=WRAPS, default='none',
                   help='prefix every line as a log collector would (see below)')
    args = p.parse_args(argv)
    if args.lines is None and args.bytes is None:
        args.lines = 1000
    if args.rate <= 0:
        p.error('--rate must be > 0')
    if not 0.0 <= args.malformed_rate < 1.0:
        p.error('--malformed-rate must be in [0, 1)')
    if args.blank_rate is None:
        args.blank_rate = args.malformed_rate / 4
    if args.clusters < 1:
        p.error('--clusters must be >= 1')
    gen = Generator(args)
    t0 = time.time()
    if args.output and args.output != '-':
        with open(args.output, 'wb', buffering=1 << 22) as f:
            n, b = gen.run(f)
    else:
        n, b = gen.run(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    if args.truth:
        with open(args.truth, 'w') as f:
            json.dump(gen.truth(), f, indent=1)
            f.write('\n')
    if args.output and args.output != '-':
        dt = time.time() - t0
        print(f'wrote {n} lines ({gen.records} records, {gen.malformed} malformed), {b} bytes '
              f'in {dt:.1f}s to {args.output}', file=sys.stderr)


if __name__ == '__main__':
    main()
