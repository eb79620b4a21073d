/**
 * The scenarios, in run order: baselines first (later ratios read them), memory last (it reports
 * the peak over everything before it). New scenarios go before `memory`: one file each, exporting
 * a `Scenario`, added to this list.
 */
import type { Scenario } from '../context.ts';
import { baselineBoss } from './baseline-boss.ts';
import { baselineHttp } from './baseline-http.ts';
import { baselineInsert } from './baseline-insert.ts';
import { bulkImport } from './bulk-import.ts';
import { decay } from './decay.ts';
import { engine } from './engine.ts';
import { ingest } from './ingest.ts';
import { memory } from './memory.ts';
import { slackAck } from './slack-ack.ts';
import { speedToLead } from './speed-to-lead.ts';

export const SCENARIOS: readonly Scenario[] = [
  baselineInsert,
  baselineHttp,
  baselineBoss,
  ingest,
  engine,
  decay,
  speedToLead,
  slackAck,
  bulkImport,
  memory,
];
