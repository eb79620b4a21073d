import { describe, expect, it } from 'vitest';
import { calendlyInviteeCanceled, calendlyInviteeCreated } from '../../support/payloads.ts';
import { events, issues, paths, RECEIVED } from '../../support/mapper-fixtures.ts';

describe('calendly', () => {
  it('maps invitee.created to meeting.booked', () => {
    const body = calendlyInviteeCreated({
      uri: 'https://api.calendly.com/scheduled_events/E1/invitees/I1',
      email: 'Grace.Hopper@Biotech.example',
    });
    expect(events('calendly', body)).toEqual([
      {
        id: 'invitee.created:https://api.calendly.com/scheduled_events/E1/invitees/I1',
        type: 'meeting.booked',
        source: 'test-source',
        occurredAt: '2026-11-20T09:15:00.123Z',
        lead: {
          email: 'grace.hopper@biotech.example',
          fullName: 'Grace Hopper',
          firstName: 'Grace',
          lastName: 'Hopper',
          ids: { calendly_invitee: 'https://api.calendly.com/scheduled_events/E1/invitees/I1' },
        },
        metadata: {
          event_name: 'Sequencing consultation',
          starts_at: '2026-11-25T14:00:00.000Z',
          ends_at: '2026-11-25T14:30:00.000Z',
          event_uri: 'https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2',
          location: 'https://meet.google.com/abc-defg-hij',
          timezone: 'Europe/Berlin',
          answers: 'What would you like to discuss?: Pricing for 20 seats\nTeam size: 11-50',
          rescheduled: false,
        },
        utm: { source: 'newsletter', medium: 'email', campaign: 'november-webinar' },
      },
    ]);
  });

  it('maps invitee.canceled to meeting.canceled with a distinct id and the rescheduled flag', () => {
    const uri = 'https://api.calendly.com/scheduled_events/E1/invitees/I2';
    const [booked] = events('calendly', calendlyInviteeCreated({ uri }));
    const [canceled] = events('calendly', calendlyInviteeCanceled({ uri }));
    expect(canceled).toMatchObject({
      type: 'meeting.canceled',
      id: `invitee.canceled:${uri}`,
      metadata: {
        rescheduled: false,
        cancel_reason: 'Conflict with another meeting',
        canceled_by: 'Grace Hopper',
      },
    });
    expect(canceled?.id).not.toBe(booked?.id);
    expect(events('calendly', calendlyInviteeCanceled({ rescheduled: true }))[0]?.metadata.rescheduled).toBe(
      true,
    );
    const rebooked = calendlyInviteeCreated({
      old_invitee: 'https://api.calendly.com/scheduled_events/E0/invitees/I0',
    });
    expect(events('calendly', rebooked)[0]?.metadata.rescheduled).toBe(true);
  });

  it('leaves out what the payload does not have', () => {
    const [event] = events('calendly', { event: 'invitee.created', payload: { email: 'a@b.example' } });
    expect(event).toEqual({
      id: null,
      type: 'meeting.booked',
      source: 'test-source',
      occurredAt: RECEIVED.toISOString(),
      lead: { email: 'a@b.example', ids: {} },
      metadata: { rescheduled: false },
      utm: {},
    });
  });

  it('reports other events and bad fields with their exact path', () => {
    expect(
      paths(issues('calendly', { ...calendlyInviteeCreated(), event: 'routing_form_submission.created' })),
    ).toEqual(['event']);
    expect(paths(issues('calendly', calendlyInviteeCreated({ email: 'grace at biotech' })))).toEqual([
      'payload.email',
    ]);
    expect(paths(issues('calendly', calendlyInviteeCreated({ email: undefined })))).toEqual([
      'payload.email',
    ]);
    expect(paths(issues('calendly', { event: 'invitee.created' }))).toEqual(['payload']);
    expect(paths(issues('calendly', []))).toEqual(['(root)']);
  });
});
