// Turns a conformance run into conformance/RESULTS.md, and helps test/conformance/run show it.
//
//   node results.ts --results R.json --events suite.jsonl [--report sluice-report.yaml]
//        [--profiles LIST] [--features LIST] [--duration S] [--root-causes FILE] --out RESULTS.md
//   node results.ts --progress            (stdin: go test2json events; stderr: one line per test)
//   node results.ts --text-log suite.jsonl  (stdout: the plain `go test -v` log)
//   node results.ts --count R.json          (stdout: "PASSED FAILED", the tests that ran)
//
// Root causes of failures are written by hand in conformance/root-causes.md (one
// "## TestName" section per test) and merged into RESULTS.md, so regenerating keeps them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Outcome {
  name: string;
  features: string[];
  provisional: boolean;
  parallel: boolean;
  profiles?: Record<string, 'core' | 'extended'>;
  result: 'passed' | 'failed' | 'skipped' | 'not-supported' | 'provisional-skipped';
  seconds: number;
}

interface TestEvent {
  Time?: string;
  Action: string;
  Test?: string;
  Output?: string;
  Elapsed?: number;
}

const TOP = /^TestConformance\/([^/]+)$/;

function readEvents(file: string): TestEvent[] {
  const out: TestEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as TestEvent);
    } catch {
      // a partial last line after a crash
    }
  }
  return out;
}

/** Output lines of every top-level conformance test (its subtests included). */
function outputByTest(events: readonly TestEvent[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const e of events) {
    if (e.Action !== 'output' || !e.Test || !e.Output) continue;
    const top = /^TestConformance\/([^/]+)/.exec(e.Test)?.[1];
    if (!top) continue;
    let list = by.get(top);
    if (!list) by.set(top, (list = []));
    list.push(e.Output.replace(/\n$/, ''));
  }
  return by;
}

/**
 * The lines that say why a test failed (testify's Error blocks, t.Errorf lines, timeouts),
 * without the repetition of polling loops: lines that differ only in timestamps and elapsed
 * times are shown once (the last time they occurred), each cut at 700 characters.
 */
export function failureExcerpt(lines: readonly string[], max = 15): string[] {
  const keep: string[] = [];
  let inError = 0;
  for (const raw of lines) {
    const line = raw.replace(/\s+$/, '');
    if (/Error Trace:|^\s*Error:|\bError:\s/.test(line)) inError = 12;
    const interesting = inError > 0 || /--- FAIL|timed out|[Ff]ailed|expected|unexpected|panic:|not ready|mismatch|want .* got|got .* want/.test(line);
    if (inError > 0) inError--;
    if (interesting && !/^=== (RUN|PAUSE|CONT|NAME)/.test(line.trim())) keep.push(line);
  }
  const norm = (l: string): string =>
    l.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z:?/g, '').replace(/\(after [^)]*\)/g, '').replace(/\(\d+(\.\d+)?s\)/g, '').replace(/Date:\[[^\]]*\]/g, '').trim();
  const lastIndex = new Map<string, number>();
  keep.forEach((l, i) => lastIndex.set(norm(l), i));
  const unique = keep.filter((l, i) => lastIndex.get(norm(l)) === i).map((l) => (l.length > 700 ? `${l.slice(0, 700)} ...` : l));
  return unique.length > max ? [...unique.slice(unique.length - max)] : unique;
}

/** "## TestName" sections of the hand-written root-cause notes. */
export function parseRootCauses(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(/^## +/m).slice(1);
  for (const part of parts) {
    const nl = part.indexOf('\n');
    const name = (nl < 0 ? part : part.slice(0, nl)).trim();
    out.set(name, (nl < 0 ? '' : part.slice(nl + 1)).trim());
  }
  return out;
}

const RESULT_LABEL: Record<Outcome['result'], string> = {
  passed: 'PASS',
  failed: '**FAIL**',
  skipped: 'skipped',
  'not-supported': 'not supported',
  'provisional-skipped': 'provisional, skipped',
};

interface ReportProfile {
  name: string;
  summary?: string;
  core?: { statistics?: { Passed?: number; Failed?: number; Skipped?: number } };
  extended?: { statistics?: { Passed?: number; Failed?: number; Skipped?: number }; supportedFeatures?: string[]; unsupportedFeatures?: string[] };
}

function renderResults(args: {
  outcomes: Outcome[];
  events: TestEvent[];
  report?: { gatewayAPIVersion?: string; gatewayAPIChannel?: string; implementation?: { version?: string }; profiles?: ReportProfile[]; date?: string };
  reportPath?: string;
  profiles: string[];
  features: string[];
  duration?: string;
  /** Which Sluice source was tested, e.g. "commit abc1234 (clean)". */
  source?: string;
  rootCauses: Map<string, string>;
  rootCausesPath: string;
}): string {
  const { outcomes, report, profiles } = args;
  const outputs = outputByTest(args.events);
  const L: string[] = [];
  L.push('# Gateway API conformance results (v1.6.1)');
  L.push('');
  L.push(
    `Generated by \`npm run conformance\` (test/conformance/run) on ${report?.date ?? new Date().toISOString()}: ` +
      `Sluice ${report?.implementation?.version ?? '?'}, suite \`sigs.k8s.io/gateway-api/conformance\` conformance/v1.6.1 ` +
      `against Gateway API ${report?.gatewayAPIVersion ?? 'v1.6.1'} (${report?.gatewayAPIChannel ?? '?'} channel CRDs)` +
      (args.duration ? `, suite run time ${args.duration} s` : '') + '.',
  );
  if (args.source) L.push(`Sluice source: ${args.source}.`);
  if (args.reportPath) L.push(`The ConformanceReport of this run: [${args.reportPath}](${args.reportPath}).`);
  L.push('');
  L.push('Harness: real etcd, kube-apiserver and kube-controller-manager; a fake kubelet that runs every pod as a local');
  L.push('process in a network namespace (test/conformance/kubelet); Sluice\'s controller with `--gateway-address-pool');
  L.push('127.10.0.0/16`. Features are inferred from `GatewayClass.status.supportedFeatures`; no test is skipped with');
  L.push('`--skip-tests`. Parallel tests ran in parallel; their real outcomes are recorded (the v1.6.1 suite would');
  L.push('count a failing parallel test as passed, upstream issue #5142), and the report is corrected accordingly.');
  L.push('');
  L.push(`Supported features claimed by GatewayClass \`sluice\`: ${args.features.length ? args.features.map((f) => `\`${f}\``).join(', ') : '(none)'}.`);
  L.push('');
  L.push('## Summary');
  L.push('');
  L.push('| Profile | Core passed | Core failed | Extended passed | Extended failed | Extended not supported | Report summary |');
  L.push('|---|---|---|---|---|---|---|');
  for (const p of profiles) {
    const inP = outcomes.filter((o) => o.profiles?.[p]);
    const core = inP.filter((o) => o.profiles![p] === 'core');
    const ext = inP.filter((o) => o.profiles![p] === 'extended');
    const count = (list: Outcome[], r: Outcome['result']): number => list.filter((o) => o.result === r).length;
    const rp = report?.profiles?.find((x) => x.name === p);
    L.push(
      `| ${p} | ${count(core, 'passed')}/${core.length} | ${count(core, 'failed')} | ${count(ext, 'passed')}/${ext.length} | ${count(ext, 'failed')} | ${count(ext, 'not-supported')} | ${rp?.summary ?? ''} |`,
    );
  }
  L.push('');
  L.push('Counts are tests, as in the report (a test counts in every profile whose features cover it). Core tests');
  L.push('always run for a requested profile; extended tests run only when the GatewayClass claims their features.');
  L.push('');

  const failed = outcomes.filter((o) => o.result === 'failed');
  L.push(`## Failures and root causes (${failed.length})`);
  L.push('');
  if (failed.length === 0) L.push('None.');
  for (const o of failed) {
    const where = Object.entries(o.profiles ?? {}).map(([p, lvl]) => `${p} ${lvl}`).join(', ') || 'no requested profile';
    L.push(`### ${o.name}`);
    L.push('');
    L.push(`Profiles: ${where}. Features: ${o.features.join(', ')}.${o.provisional ? ' Provisional.' : ''}${o.parallel ? ' Parallel.' : ''}`);
    L.push('');
    const cause = args.rootCauses.get(o.name);
    L.push(cause ? cause : `Root cause: not analysed yet (add a "## ${o.name}" section to ${args.rootCausesPath}).`);
    L.push('');
    const excerpt = failureExcerpt(outputs.get(o.name) ?? []);
    if (excerpt.length) {
      L.push('<details><summary>What the suite reported</summary>');
      L.push('');
      L.push('```');
      L.push(...excerpt);
      L.push('```');
      L.push('');
      L.push('</details>');
      L.push('');
    }
  }

  const unclaimed = outcomes.filter((o) => o.result === 'not-supported' && Object.values(o.profiles ?? {}).includes('extended'));
  L.push(`## Not claimed: extended tests that did not run (${unclaimed.length})`);
  L.push('');
  L.push('These tests need a feature that `GatewayClass sluice` does not list, so the suite did not run them and');
  L.push('they do not count. Where a forced run showed what would happen, the note says so.');
  L.push('');
  for (const o of unclaimed) {
    const missing = o.features.filter((f) => !args.features.includes(f) && !['Gateway', 'HTTPRoute', 'ReferenceGrant', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute'].includes(f));
    const note = args.rootCauses.get(o.name);
    L.push(`- **${o.name}** (needs ${missing.join(', ') || o.features.join(', ')})${note ? `: ${note.replace(/\s*\n\s*/g, ' ')}` : ''}`);
  }
  L.push('');

  L.push('## All tests');
  L.push('');
  L.push(`| Test | ${profiles.join(' | ')} | Result | Seconds |`);
  L.push(`|---|${profiles.map(() => '---|').join('')}---|---|`);
  for (const o of [...outcomes].sort((a, b) => a.name.localeCompare(b.name))) {
    const cells = profiles.map((p) => o.profiles?.[p] ?? '');
    const flags = `${o.provisional ? ' (provisional)' : ''}${o.parallel ? ' (parallel)' : ''}`;
    L.push(`| ${o.name}${flags} | ${cells.join(' | ')} | ${RESULT_LABEL[o.result]} | ${o.result === 'passed' || o.result === 'failed' ? o.seconds.toFixed(1) : ''} |`);
  }
  L.push('');
  return L.join('\n');
}

async function progress(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.startsWith('{')) continue;
    let e: TestEvent;
    try {
      e = JSON.parse(line) as TestEvent;
    } catch {
      continue;
    }
    const m = e.Test ? TOP.exec(e.Test) : null;
    if (m && (e.Action === 'pass' || e.Action === 'fail')) {
      process.stderr.write(`--- ${e.Action.toUpperCase()}: ${m[1]} (${(e.Elapsed ?? 0).toFixed(1)}s)\n`);
    } else if (!e.Test && e.Action === 'output' && e.Output && /^(panic|FAIL|ok|PASS)\b|Test Setup|timed out/.test(e.Output)) {
      process.stderr.write(e.Output);
    } else if (e.Test === 'TestConformance' && e.Action === 'output' && e.Output && /Test Setup|timed out|Error/.test(e.Output)) {
      process.stderr.write(e.Output);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      progress: { type: 'boolean' },
      count: { type: 'string' },
      'text-log': { type: 'string' },
      results: { type: 'string' },
      events: { type: 'string' },
      report: { type: 'string' },
      profiles: { type: 'string', default: '' },
      features: { type: 'string', default: '' },
      duration: { type: 'string' },
      source: { type: 'string' },
      'root-causes': { type: 'string', default: join(ROOT, 'conformance', 'root-causes.md') },
      out: { type: 'string' },
    },
  });
  if (values.progress) return progress();
  if (values.count) {
    const outcomes = JSON.parse(readFileSync(values.count, 'utf8')) as Outcome[];
    const n = (r: Outcome['result']) => outcomes.filter((o) => o.result === r).length;
    process.stdout.write(`${n('passed')} ${n('failed')}\n`);
    return;
  }
  if (values['text-log']) {
    for (const e of readEvents(values['text-log'])) if (e.Action === 'output' && e.Output) process.stdout.write(e.Output);
    return;
  }
  if (!values.results || !values.out) throw new Error('--results and --out are required');
  const outcomes = JSON.parse(readFileSync(values.results, 'utf8')) as Outcome[];
  const reportFile = values.report && existsSync(values.report) ? values.report : undefined;
  const report = reportFile ? (parseYaml(readFileSync(reportFile, 'utf8')) as Parameters<typeof renderResults>[0]['report']) : undefined;
  const rcPath = values['root-causes'];
  const md = renderResults({
    outcomes,
    events: values.events && existsSync(values.events) ? readEvents(values.events) : [],
    report,
    reportPath: reportFile ? relative(dirname(resolve(values.out)), resolve(reportFile)) : undefined,
    profiles: values.profiles.split(',').filter(Boolean),
    features: values.features.split(',').filter(Boolean),
    duration: values.duration,
    source: values.source,
    rootCauses: existsSync(rcPath) ? parseRootCauses(readFileSync(rcPath, 'utf8')) : new Map(),
    rootCausesPath: relative(ROOT, rcPath),
  });
  writeFileSync(values.out, md);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`results: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
