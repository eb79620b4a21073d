import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../../src/bot/slack-app.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// Slack's published schemas, kept with the tests so any clone validates offline.
const reference = path.join(repoRoot, 'tests/support/slack-manifest-schema');
const SCHEMA_BASE = 'https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas';

const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(reference, file), 'utf8')) as Record<string, unknown>;

interface Manifest {
  display_information: { name: string; description?: string };
  features: {
    bot_user?: { display_name: string };
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean };
    slash_commands?: { command: string; url?: string; description: string; should_escape?: boolean }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity: { is_enabled: boolean; request_url?: string };
    event_subscriptions: { request_url?: string; bot_events: string[] };
    org_deploy_enabled?: boolean;
    socket_mode_enabled?: boolean;
    token_rotation_enabled?: boolean;
  };
}

describe('manifest.yml', () => {
  let manifest: Manifest;

  beforeAll(() => {
    manifest = parse(readFileSync(path.join(repoRoot, 'manifest.yml'), 'utf8')) as Manifest;
  });

  it('is valid against Slack’s manifest schema (offline)', () => {
    const top = readJson('slack-manifest.schema.json');
    const v1 = readJson('slack-manifest.schema.1.0.0.json');
    const v2 = readJson('slack-manifest.schema.2.0.0.json');
    // All three are draft-07 (the versioned ones declare it or leave it to the default), which is
    // Ajv's default draft. strict: false because the schemas carry non-standard keywords
    // (`regex`, `_note`) that strict mode rejects.
    for (const schema of [top, v1, v2]) {
      expect([undefined, 'http://json-schema.org/draft-07/schema#']).toContain(schema['$schema']);
    }
    const ajv = new Ajv({ strict: false, allErrors: true });
    // The schemas use `format: uri` (for `$schema`); ajv-formats is not a dependency.
    ajv.addFormat('uri', (value: string) => URL.canParse(value));
    ajv.addSchema(v1, `${SCHEMA_BASE}/manifest.schema.1.0.0.json`);
    ajv.addSchema(v2, `${SCHEMA_BASE}/manifest.schema.2.0.0.json`);
    const validate = ajv.compile(top);
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema really rejects a broken manifest', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat('uri', (value: string) => URL.canParse(value));
    ajv.addSchema(readJson('slack-manifest.schema.1.0.0.json'), `${SCHEMA_BASE}/manifest.schema.1.0.0.json`);
    ajv.addSchema(readJson('slack-manifest.schema.2.0.0.json'), `${SCHEMA_BASE}/manifest.schema.2.0.0.json`);
    const validate = ajv.compile(readJson('slack-manifest.schema.json'));
    const broken = structuredClone(manifest);
    broken.features.slash_commands = [{ command: 'lead', description: '' }];
    expect(validate(broken)).toBe(false);
  });

  it('declares /lead, pointed at the one Slack path, with escaping on', () => {
    const lead = manifest.features.slash_commands?.find((c) => c.command === '/lead');
    expect(lead).toBeDefined();
    expect(lead?.should_escape).toBe(true);
    expect(new URL(lead?.url ?? '').pathname).toBe(SLACK_EVENTS_PATH);
  });

  it('turns on interactivity, events, the Home tab and the bot user at the same path', () => {
    const { interactivity, event_subscriptions } = manifest.settings;
    expect(interactivity.is_enabled).toBe(true);
    expect(new URL(interactivity.request_url ?? '').pathname).toBe(SLACK_EVENTS_PATH);
    expect(new URL(event_subscriptions.request_url ?? '').pathname).toBe(SLACK_EVENTS_PATH);
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.features.bot_user?.display_name).toBe('Leadline');
    expect(manifest.display_information.name).toBe('Leadline');
  });

  it('subscribes to the events Leadline handles', () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_home_opened', 'user_change', 'member_joined_channel']),
    );
  });

  it('asks for exactly the scopes Leadline needs', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
      [
        // conversations.history: finding a post whose delivery was interrupted (outbox/reconcile.ts).
        'channels:history',
        'groups:history',
        'im:history',
        'channels:read',
        'chat:write',
        'chat:write.public',
        'commands',
        'groups:read',
        'im:write',
        'team:read',
        'users.profile:read',
        'users:read',
        'users:read.email',
      ].sort(),
    );
  });

  it('is an HTTP app without org deploy or token rotation', () => {
    expect(manifest.settings).toMatchObject({
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    });
  });
});
