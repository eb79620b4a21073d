import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * Leadline's Prometheus metrics, one registry per process (tests build their own), exposed on
 * `GET /metrics`. Labels are bounded: source names come from the ruleset, outcomes from code.
 */
export interface Metrics {
  registry: Registry;
  webhooks: Counter<'source' | 'outcome'>;
  intakeSeconds: Histogram<'source'>;
  eventsProcessed: Counter;
  leadsCreated: Counter;
  eventsParked: Counter;
  leadChanges: Counter<'kind'>;
  jobSeconds: Histogram<'job'>;
}

export function createMetrics(options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'leadline_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'leadline_webhooks_total',
      help: 'Webhook deliveries by source and outcome (accepted, duplicate, rejected, unavailable)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    intakeSeconds: new Histogram({
      name: 'leadline_intake_seconds',
      help: 'Time from request start to durable acknowledgement',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    eventsProcessed: new Counter({
      name: 'leadline_events_processed_total',
      help: 'Events applied to leads',
      registers: [registry],
    }),
    leadsCreated: new Counter({
      name: 'leadline_leads_created_total',
      help: 'Leads created',
      registers: [registry],
    }),
    eventsParked: new Counter({
      name: 'leadline_events_parked_total',
      help: 'Events set aside because their processing failed on its own',
      registers: [registry],
    }),
    leadChanges: new Counter({
      name: 'leadline_lead_changes_total',
      help: 'Threshold crossings, grade and intent changes, critical signals',
      labelNames: ['kind'],
      registers: [registry],
    }),
    jobSeconds: new Histogram({
      name: 'leadline_job_seconds',
      help: 'Job handler run time per queue',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [registry],
    }),
  };
}
