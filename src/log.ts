import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. Secrets that could ride along in objects are redacted by key,
 * so logging a request or a config object never prints a signing secret or token.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'leadline', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'secret',
        '*.secret',
        'password',
        '*.password',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'databaseUrl',
        '*.databaseUrl',
        'botToken',
        '*.botToken',
        'signingSecret',
        '*.signingSecret',
        'appToken',
        '*.appToken',
        'apiKey',
        '*.apiKey',
        'importToken',
        '*.importToken',
      ],
      censor: '[redacted]',
    },
  });
}
