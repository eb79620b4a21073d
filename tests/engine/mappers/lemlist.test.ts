import { describe, expect, it } from 'vitest';
import { mapPayload } from '../../../src/engine/mappers/index.ts';
import { lemlistActivity, SAMPLE_TIME } from '../../support/payloads.ts';
import { ctx, events, issues, paths } from '../../support/mapper-fixtures.ts';

describe('lemlist', () => {
  it('maps an activity field by field', () => {
    const body = lemlistActivity({ _id: 'act_1', leadId: 'lea_1', secret: 'lemlist-shared-secret-0d9e' });
    expect(events('lemlist', body)).toEqual([
      {
        id: 'act_1',
        type: 'email.replied',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: {
          email: 'marie.curie@curie-lab.example',
          firstName: 'Marie',
          lastName: 'Curie',
          company: 'Curie Lab',
          ids: { lemlist_id: 'lea_1', linkedin_url: 'https://www.linkedin.com/in/marie-curie-lab' },
        },
        metadata: {
          lemlist_type: 'emailsReplied',
          campaign_id: 'cam_Q4outbound',
          sequence_id: 'seq_A1b2C3',
          sequence_step: 2,
          sender_email: 'sam@leadline-customer.example',
        },
        utm: { source: 'lemlist', campaign: 'Q4 Lab Directors' },
      },
    ]);
  });

  it.each([
    ['emailsOpened', 'email.opened'],
    ['emailsClicked', 'email.clicked'],
    ['emailsReplied', 'email.replied'],
    ['emailsBounced', 'email.bounced'],
    ['emailsUnsubscribed', 'email.unsubscribed'],
    ['emailsSent', 'email.sent'],
    ['linkedinInviteAccepted', 'linkedin.connected'],
    ['linkedinReplied', 'linkedin.replied'],
    ['linkedinVisitDone', 'linkedin.profile_visited'],
    ['interested', 'lead.interested'],
    ['notInterested', 'lead.not_interested'],
    ['linkedinInviteDone', 'lemlist.linkedin_invite_done'],
    ['aircallDone', 'lemlist.aircall_done'],
  ])('maps %s to %s', (type, expected) => {
    expect(events('lemlist', lemlistActivity({ type }))[0]?.type).toBe(expected);
  });

  it('never lets the shared secret reach events or issues', () => {
    const secret = 'lemlist-shared-secret-0d9e';
    const ok = mapPayload('lemlist', [lemlistActivity({ secret }), lemlistActivity({ secret })], ctx());
    expect(ok.ok).toBe(true);
    expect(JSON.stringify(ok)).not.toContain(secret);
    const bad = mapPayload('lemlist', lemlistActivity({ secret, leadEmail: secret, type: 7 }), ctx());
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain(secret);
  });

  it('maps batches, up to 1,000, and reports bad items by index', () => {
    expect(events('lemlist', [lemlistActivity(), lemlistActivity()])).toHaveLength(2);
    expect(
      events(
        'lemlist',
        Array.from({ length: 1000 }, () => lemlistActivity()),
      ),
    ).toHaveLength(1000);
    expect(
      paths(
        issues(
          'lemlist',
          Array.from({ length: 1001 }, () => lemlistActivity()),
        ),
      ),
    ).toEqual(['(root)']);
    const batch = [lemlistActivity(), lemlistActivity(), lemlistActivity({ leadEmail: 'marie@' }), 'x'];
    expect(paths(issues('lemlist', batch))).toEqual(['2.leadEmail', '3']);
  });

  it('accepts LinkedIn-only leads and requires some identity', () => {
    const linkedinOnly = lemlistActivity({ leadEmail: '', leadId: undefined, type: 'linkedinVisitDone' });
    expect(events('lemlist', linkedinOnly)[0]?.lead).toMatchObject({
      ids: { linkedin_url: expect.any(String) },
    });
    const nobody = lemlistActivity({ leadEmail: undefined, leadId: undefined, linkedinUrl: undefined });
    expect(issues('lemlist', nobody)).toEqual([
      { path: 'leadEmail', message: 'required when the activity has neither leadId nor linkedinUrl' },
    ]);
  });
});
