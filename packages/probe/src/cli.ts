#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { env, isConfigError, loadConfig } from '@parley/config';
import { runProbe } from './probe.js';
import { pushResult, reportResult } from './report.js';

const USAGE = `parley-probe: one synthetic chat through the public widget API, checked end to end.

Usage: parley-probe [--url URL] [--widget-key KEY] [--origin URL] [--question TEXT]
                    [--expect TEXT | --expect-regex RE] [--timeout-ms N]
                    [--pushgateway URL] [--report-url URL] [--interval-seconds N]

Each flag overrides its variable: PROBE_URL, PROBE_WIDGET_KEY, PROBE_ORIGIN,
PROBE_QUESTION, PROBE_EXPECT, PROBE_EXPECT_REGEX, PROBE_TIMEOUT_MS,
PROBE_PUSHGATEWAY_URL, PROBE_REPORT_URL (default: PROBE_URL), PROBE_INTERVAL_SECONDS.
With PARLEY_ADMIN_TOKEN set, the result goes to the gateway's status page too.
Prints one JSON line; exits 0 when the answer matched, 1 when not, 2 on bad usage.
`;

const http = ['http:', 'https:'];
const spec = {
  url: env.url('PROBE_URL', { protocols: http }),
  widgetKey: env.string('PROBE_WIDGET_KEY'),
  origin: env.url('PROBE_ORIGIN', { protocols: http }),
  question: env.string('PROBE_QUESTION', { default: 'What are your opening hours?' }),
  expect: env.string('PROBE_EXPECT', { default: '' }),
  expectRegex: env.string('PROBE_EXPECT_REGEX', { default: '' }),
  timeoutMs: env.int('PROBE_TIMEOUT_MS', { min: 1_000, max: 600_000, default: 30_000 }),
  pushgateway: env.url('PROBE_PUSHGATEWAY_URL', { protocols: http, default: '' }),
  reportUrl: env.url('PROBE_REPORT_URL', { protocols: http, default: '' }),
  intervalSeconds: env.int('PROBE_INTERVAL_SECONDS', { min: 10, max: 86_400, default: 60 }),
  token: env.secret('PARLEY_ADMIN_TOKEN', { minLength: 24, optional: true }),
};

const FLAGS = {
  url: 'PROBE_URL',
  'widget-key': 'PROBE_WIDGET_KEY',
  origin: 'PROBE_ORIGIN',
  question: 'PROBE_QUESTION',
  expect: 'PROBE_EXPECT',
  'expect-regex': 'PROBE_EXPECT_REGEX',
  'timeout-ms': 'PROBE_TIMEOUT_MS',
  pushgateway: 'PROBE_PUSHGATEWAY_URL',
  'report-url': 'PROBE_REPORT_URL',
  'interval-seconds': 'PROBE_INTERVAL_SECONDS',
} as const;

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        help: { type: 'boolean' },
        ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const merged: Record<string, string | undefined> = { ...process.env };
  for (const [flag, variable] of Object.entries(FLAGS))
    if (typeof values[flag] === 'string') merged[variable] = values[flag];

  let config: ReturnType<typeof loadConfig<typeof spec>>;
  let expectRegex: RegExp | undefined;
  try {
    config = loadConfig(spec, merged);
    expectRegex = config.expectRegex ? new RegExp(config.expectRegex, 'i') : undefined;
  } catch (err) {
    const message = isConfigError(err)
      ? err.message
      : `PROBE_EXPECT_REGEX is not a regular expression: ${(err as Error).message}`;
    process.stderr.write(`parley-probe: ${message}\n`);
    return 2;
  }

  const result = await runProbe({
    url: config.url,
    widgetKey: config.widgetKey,
    origin: config.origin,
    question: config.question,
    expect: config.expect,
    ...(expectRegex ? { expectRegex } : {}),
    timeoutMs: config.timeoutMs,
  });
  const outcome: Record<string, unknown> = { probe: 'parley-probe', ...result };
  if (config.pushgateway)
    outcome.pushed = await pushResult(config.pushgateway, result).then(
      () => true,
      (err: Error) => {
        process.stderr.write(`parley-probe: push to the Pushgateway failed: ${err.message}\n`);
        return false;
      },
    );
  if (config.token)
    outcome.reported = await reportResult(config.reportUrl || config.url, config.token, result, {
      intervalSeconds: config.intervalSeconds,
    }).then(
      () => true,
      (err: Error) => {
        process.stderr.write(`parley-probe: report to the gateway failed: ${err.message}\n`);
        return false;
      },
    );
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  return result.success ? 0 : 1;
}

const code = await main();
// Exit once stdout is flushed, without waiting for idle keep-alive sockets to time out.
process.stdout.write('', () => process.exit(code));
