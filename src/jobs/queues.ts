/** Queue names, in one place so producers and workers cannot drift apart. */
export const PROCESS_EVENTS_QUEUE = 'process-events';
export const DECAY_QUEUE = 'decay-scores';
export const SLACK_DELIVERY_QUEUE = 'slack-delivery';
