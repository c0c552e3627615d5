#!/usr/bin/env python3
"""Scan cost against the time a log spans (issue 13), one run, figures printed and saved.

  python3 Benchmarks/span_bench.py --flagwatch .build/release/flagwatch [--old OLD_BINARY] [--lines 1000000]

Cases, each generated once into Benchmarks/data/ by Samples/generate.py (fixed seeds):
  hour   LINES lines over ~1 hour, 1 000 clusters
  month  the same number of lines over ~29 days (0.4 lines/s), 1 000 clusters; 2 % of them are
         a busy hour on day 15 on 20 clusters with two spikes, merged in time order (a month of
         sparse traffic alone cannot breach a rule)
  keys   LINES lines over 7 days, 10 000 clusters
  daily  the month cut into one gzip archive per day, in a directory
For each: wall time and peak RSS (GNU time) of `scan --threads 1 --output json` (hour, month and
daily with span-rules.yaml: five-minute windows that the sparse clusters can breach); the month
must take at most 1.25x the hour's time and 128 MiB, the keys case 256 MiB; the daily
archives must give the month's counts and spikes exactly. With --old, the hour is also
scanned by an older build, for the single-thread throughput before and after.
"""
import argparse, datetime, gzip, heapq, json, os, platform, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, 'data', 'span')
GENERATE = os.path.join(ROOT, 'Samples', 'generate.py')
REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local'
PAYMENTS = 'outbound|8080||payments.default.svc.cluster.local'


def generate(name, *args):
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        subprocess.run([sys.executable, GENERATE, '-o', path + '.tmp', *args], check=True, stdout=subprocess.DEVNULL)
        os.rename(path + '.tmp', path)
    return path


def month_with_a_busy_hour(lines):
    path = os.path.join(DATA, f'month-{lines}.log')
    if os.path.exists(path):
        return path
    busy = int(lines) // 50
    quiet = generate(f'month-quiet-{lines}.log', '--format', 'istio', '--lines', str(int(lines) - busy), '--rate', '0.4',
                     '--clusters', '1000', '--seed', '32', '--start', '2026-10-01T00:00:00Z')
    hour = generate(f'month-busy-{lines}.log', '--format', 'istio', '--lines', str(busy), '--rate', str(busy // 3600 + 1),
                    '--clusters', '20', '--seed', '34', '--start', '2026-10-15T12:00:00Z',
                    '--spike', f'{REVIEWS}:UF,URX:600:300:0.8', '--spike', f'{PAYMENTS}:UH:2000:600:0.7')
    with open(quiet, 'rb') as a, open(hour, 'rb') as b, open(path + '.tmp', 'wb') as out:
        # Both are in the order Envoy wrote them; merged on the timestamp that starts each line.
        out.writelines(heapq.merge(a, b, key=lambda line: line[:26]))
    os.rename(path + '.tmp', path)
    return path


def daily_archives(month):
    folder = os.path.join(DATA, 'daily')
    if os.path.isdir(folder):
        return folder
    os.makedirs(folder + '.tmp', exist_ok=True)
    outputs = {}
    with open(month, 'rb') as log:
        for line in log:
            day = line[1:11].decode('ascii', 'replace') if line.startswith(b'[') else 'undated'
            if day not in outputs:
                outputs[day] = gzip.open(os.path.join(folder + '.tmp', f'access-{day}.log.gz'), 'wb', compresslevel=6)
            outputs[day].write(line)
    for out in outputs.values():
        out.close()
    os.rename(folder + '.tmp', folder)
    return folder


RULES = os.path.join(HERE, 'span-rules.yaml')


def scan(binary, path, rules=None):
    """(seconds, peak RSS MiB, report) of one scan."""
    command = ['/usr/bin/time', '-f', '%e %M', binary, 'scan', '--threads', '1', '--output', 'json', path]
    if rules:
        command += ['--rules', rules]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'{" ".join(command)} failed: {run.stderr[-2000:]}')
    seconds, kib = run.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024, json.loads(run.stdout)


def counted(report, keep_causes=True):
    """What two scans of the same records must agree on: records, malformed, clusters and spikes;
    cause samples name a file and line, which differ between the month and its daily archives,
    and causes are absent from reports of builds before issue 14."""
    dropped = {'causeSamples'} | (set() if keep_causes else {'causes', 'cause', 'causeShare'})
    strip = lambda item: {k: v for k, v in item.items() if k not in dropped}
    return (report['records'], report['malformed'], [strip(c) for c in report['clusters']], [strip(s) for s in report['spikes']])


def best(binary, path, runs, rules=None):
    results = [scan(binary, path, rules) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results), results[0][2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--flagwatch', required=True)
    parser.add_argument('--old', help='an older flagwatch binary to compare single-thread throughput with')
    parser.add_argument('--lines', default='1000000')
    parser.add_argument('--runs', type=int, default=3, help='runs per case (best time, highest RSS)')
    args = parser.parse_args()
    lines = args.lines
    hour = generate(f'hour-{lines}.log', '--format', 'istio', '--lines', lines, '--rate', str(int(int(lines) / 3600)),
                    '--clusters', '1000', '--seed', '31', '--spike', f'{REVIEWS}:UF,URX:600:120:0.6')
    month = month_with_a_busy_hour(lines)
    keys = generate(f'keys-{lines}.log', '--format', 'istio', '--lines', lines, '--rate', str(round(int(lines) / (7 * 86400), 3)),
                    '--clusters', '10000', '--seed', '33')
    daily = daily_archives(month)

    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    out = [f'# span_bench {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu}, {os.cpu_count()} cores',
           f'# {lines} lines per case; best of {args.runs} (time), highest peak RSS; scan --threads 1 --output json']
    hour_s, hour_rss, hour_report = best(args.flagwatch, hour, args.runs, RULES)
    month_s, month_rss, month_report = best(args.flagwatch, month, args.runs, RULES)
    keys_s, keys_rss, keys_report = best(args.flagwatch, keys, args.runs)
    daily_s, daily_rss, daily_report = best(args.flagwatch, daily, args.runs, RULES)
    size = lambda p: os.path.getsize(p) / 1e6
    out.append(f'hour   {size(hour):7.0f} MB  {hour_s:6.2f} s  {hour_rss:6.1f} MiB  {len(hour_report["clusters"])} keys, {len(hour_report["spikes"])} spikes')
    out.append(f'month  {size(month):7.0f} MB  {month_s:6.2f} s  {month_rss:6.1f} MiB  {len(month_report["clusters"])} keys, {len(month_report["spikes"])} spikes'
               f'  -> {month_s / hour_s:.2f}x the hour (<= 1.25x), RSS <= 128 MiB: {"MET" if month_rss <= 128 else "MISSED"}')
    out.append(f'keys   {size(keys):7.0f} MB  {keys_s:6.2f} s  {keys_rss:6.1f} MiB  {len(keys_report["clusters"])} keys over 7 days'
               f'  -> RSS <= 256 MiB: {"MET" if keys_rss <= 256 else "MISSED"}')
    same = counted(daily_report) == counted(month_report)
    out.append(f'daily  {len(os.listdir(daily))} .gz  {daily_s:6.2f} s  {daily_rss:6.1f} MiB  counts and spikes equal to the plain month: {same}')
    if args.old:
        old_s, old_rss, old_report = best(args.old, hour, args.runs, RULES)
        same_old = counted(old_report, keep_causes=False) == counted(hour_report, keep_causes=False)
        out.append(f'old    hour {old_s:6.2f} s {old_rss:6.1f} MiB; new/old time {hour_s / old_s:.2f} (<= 1.00 wanted); same counts and spikes: {same_old}')
        old_month = scan(args.old, month, RULES)
        out.append(f'old    month {old_month[0]:6.2f} s {old_month[1]:6.1f} MiB (the engine before: per-second pages for the whole span)')
    text = '\n'.join(out) + '\n'
    print(text, end='')
    folder = subprocess.run(['bash', os.path.join(HERE, 'results-dir.sh')], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(folder, 'span.txt'), 'w') as saved:
        saved.write(text)
    spiked = len(month_report['spikes']) > 0 and len(hour_report['spikes']) > 0
    sys.exit(0 if same and spiked and month_rss <= 128 and keys_rss <= 256 else 1)


if __name__ == '__main__':
    main()
