/** Queue names, in one place so producers and workers cannot drift apart. */
export const PROCESS_EVENTS_QUEUE = 'process-events';
/** Events that can alert a rep on their own: processed apart so they never wait behind a backlog. */
export const PROCESS_URGENT_EVENTS_QUEUE = 'process-events-urgent';
export const DECAY_QUEUE = 'decay-scores';
export const SLACK_DELIVERY_QUEUE = 'slack-delivery';
