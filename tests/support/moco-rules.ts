/**
 * A ruleset for MOCO syncs: one B2B pipeline with won and lost stages, offers on won, and the team
 * lines given (Anna, who owns the deals, first).
 */
export function mocoRulesYaml(version: string, teamLines: readonly string[]): string {
  return `
version: ${version}
intent:
  intents: [research, b2b, co_creation]
deals:
  currency: EUR
pipelines:
  - id: b2b
    name: B2B customers
    intent: b2b
    stages:
      - { id: new, name: New lead }
      - { id: won, name: Won, won: true }
      - { id: lost, name: Lost, lost: true }
slack: { deals_channel: C0DEALS001 }
moco: { on_won: offer, tax: 19, due_days: 30 }
team:
  members:
${teamLines.map((line) => `    - ${line}`).join('\n')}
`;
}

export const MOCO_ANNA = '{ id: anna, slack_user_id: U0ANNA001, name: Anna, role: rep, email: anna@leadline.example }';
export const MOCO_SAM = '{ id: sam, slack_user_id: U0SAMADM5, name: Sam, role: admin }';
