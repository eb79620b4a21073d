import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Pool, run } from './db/pool.ts';
import { type QueueStatsRow, selectOutboxStates, selectQueueStats } from './db/sql/metrics.ts';

/**
 * Leadline's Prometheus metrics, one registry per process (tests build their own), exposed on
 * `GET /metrics` by web and worker processes alike. Labels are bounded: source names come from
 * the ruleset, queues from code, reasons and outcomes from Leadline's own codes.
 */
export interface Metrics {
  registry: Registry;
  webhooks: Counter<'source' | 'outcome'>;
  webhookRefusals: Counter<'source' | 'reason'>;
  intakeSeconds: Histogram<'source'>;
  processedSeconds: Histogram;
  eventsProcessed: Counter;
  leadsCreated: Counter;
  eventsParked: Counter;
  decisions: Counter<'kind'>;
  jobSeconds: Histogram<'job'>;
  slackDeliveries: Counter<'outcome'>;
  slaSteps: Counter<'step'>;
  mocoCalls: Counter<'outcome'>;
  rulesetInfo: Gauge<'version'>;
}

export function createMetrics(options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'leadline_' });
  const registers = [registry];
  return {
    registry,
    webhooks: new Counter({
      name: 'leadline_webhooks_total',
      help: 'Webhook deliveries by source and outcome (accepted, duplicate, parked, rate_limited, rejected, unavailable)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    webhookRefusals: new Counter({
      name: 'leadline_webhook_refusals_total',
      help: 'Refused webhook deliveries by source and error code (signature_invalid, invalid_payload, …)',
      labelNames: ['source', 'reason'],
      registers,
    }),
    intakeSeconds: new Histogram({
      name: 'leadline_intake_seconds',
      help: 'Time from request start to durable acknowledgement',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    processedSeconds: new Histogram({
      name: 'leadline_event_processed_seconds',
      help: 'Time from intake storing an event to the engine applying it',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    eventsProcessed: new Counter({ name: 'leadline_events_processed_total', help: 'Events applied to leads', registers }),
    leadsCreated: new Counter({ name: 'leadline_leads_created_total', help: 'Leads created', registers }),
    eventsParked: new Counter({
      name: 'leadline_events_parked_total',
      help: 'Events set aside because their processing failed on its own',
      registers,
    }),
    decisions: new Counter({
      name: 'leadline_engine_decisions_total',
      help: 'Engine decisions applied, by kind (lead_changed, routed, conflict)',
      labelNames: ['kind'],
      registers,
    }),
    jobSeconds: new Histogram({
      name: 'leadline_job_seconds',
      help: 'Job handler run time per queue',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    }),
    slackDeliveries: new Counter({
      name: 'leadline_slack_deliveries_total',
      help: 'Slack outbox sends by outcome (sent, retried, rate_limited, dead)',
      labelNames: ['outcome'],
      registers,
    }),
    slaSteps: new Counter({
      name: 'leadline_sla_steps_total',
      help: 'SLA steps taken on unclaimed alerts (reminded, escalated: the claim window breached, reassigned, unsnoozed)',
      labelNames: ['step'],
      registers,
    }),
    mocoCalls: new Counter({
      name: 'leadline_moco_calls_total',
      help: 'MOCO API calls by outcome (ok, rejected, rate_limited, failed, timeout)',
      labelNames: ['outcome'],
      registers,
    }),
    rulesetInfo: new Gauge({ name: 'leadline_ruleset_info', help: 'The ruleset version this process runs (value 1)', labelNames: ['version'], registers }),
  };
}

/**
 * Gauges read from the database at scrape time: jobs waiting and the oldest one's age per queue,
 * Slack outbox rows pending and dead. Every process reports the same shared values.
 */
export function registerDatabaseGauges(metrics: Metrics, pool: Pool): void {
  const registers = [metrics.registry];
  // Both queue gauges read one query per scrape: the second collect finds the first one's answer.
  let stats: Promise<QueueStatsRow[]> | null = null;
  const queues = () =>
    (stats ??= run(pool, selectQueueStats())
      .catch(() => [])
      .finally(() => setImmediate(() => (stats = null))));
  new Gauge({
    name: 'leadline_queue_depth',
    help: 'Jobs due and waiting per queue',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const row of await queues()) this.set({ queue: row.name }, row.waiting);
    },
  });
  new Gauge({
    name: 'leadline_queue_oldest_job_seconds',
    help: 'Age of the oldest job due and waiting per queue',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const row of await queues()) this.set({ queue: row.name }, row.oldest_seconds ?? 0);
    },
  });
  new Gauge({
    name: 'leadline_slack_outbox_messages',
    help: 'Slack outbox messages not yet sent, by state (pending, dead)',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      for (const row of await run(pool, selectOutboxStates()).catch(() => [])) this.set({ state: row.state }, row.n);
    },
  });
}
