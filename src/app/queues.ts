/** Queue names, in one place so producers and workers cannot drift apart. */
export const PROCESS_EVENTS_QUEUE = 'process-events';
/** Events that can alert a rep on their own: processed apart so they never wait behind a backlog. */
export const PROCESS_URGENT_EVENTS_QUEUE = 'process-events-urgent';
export const DECAY_QUEUE = 'decay-scores';
/** The upkeep job's queue (scheduled by cron through `enqueueSlot`). */
export const UPKEEP_QUEUE = 'upkeep';
/** The sweep's queue (scheduled every minute through job_slots). */
export const SLA_QUEUE = 'sla-sweep';
/** The digest's queue; schedule it with `enqueueSlot` on `ruleset.slack.digest_cron`. */
export const DIGEST_QUEUE = 'daily-digest';
/** Queue of events whose free text a model classifies into an intent. */
export const CLASSIFY_QUEUE = 'classify-text';
/** Sync requests to MOCO (a won deal, a rule's sync_moco), one job per request. */
export const MOCO_SYNC_QUEUE = 'moco-sync';
