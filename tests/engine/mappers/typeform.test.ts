import { describe, expect, it } from 'vitest';
import { SAMPLE_TIME, typeformResponse } from '../../support/payloads.ts';
import { events, issues, paths } from '../../support/mapper-fixtures.ts';

describe('typeform', () => {
  it('maps form_response to form.submitted', () => {
    const body = typeformResponse({ token: 'tok_1' });
    (body as { event_id: string }).event_id = '01HZX8Q2K3M4N5P6Q7R8S9T0';
    expect(events('typeform', body)).toEqual([
      {
        id: '01HZX8Q2K3M4N5P6Q7R8S9T0',
        type: 'form.submitted',
        source: 'test-source',
        occurredAt: SAMPLE_TIME,
        lead: {
          email: 'rosalind.franklin@helix-bio.example',
          company: 'Helix Bio',
          ids: { typeform_respondent: 'tok_1' },
        },
        metadata: {
          form_id: 'lT4Z3j',
          form_title: 'Request a sample kit',
          form_type: 'sample_request',
          answers:
            'first_name: Rosalind\nteam_size: 51-200\ninterests: Sequencing, Imaging\nsamples_per_week: 12\nhas_budget: true',
        },
        utm: { source: 'linkedin', campaign: 'lab-automation' },
      },
    ]);
  });

  it('prefers hidden fields for identity and profile', () => {
    const hidden = {
      email: ' PI@University.example ',
      first_name: 'Rosalind',
      last_name: 'Franklin',
      company: 'Kings',
      utm_medium: 'social',
    };
    const [event] = events('typeform', typeformResponse({ hidden }));
    expect(event?.lead).toMatchObject({
      email: 'pi@university.example',
      firstName: 'Rosalind',
      lastName: 'Franklin',
      company: 'Kings',
    });
    expect(event?.utm).toEqual({ medium: 'social' });
  });

  it('requires an email answer or a hidden email', () => {
    const answers = [{ type: 'text', text: 'hi', field: { ref: 'note' } }];
    expect(issues('typeform', typeformResponse({ answers, hidden: {} }))).toEqual([
      {
        path: 'form_response.answers',
        message: expect.stringMatching(/email answer or a hidden field named email/),
      },
    ]);
    const badAnswer = [answers[0], { type: 'email', email: 'not an email', field: { ref: 'email' } }];
    expect(paths(issues('typeform', typeformResponse({ answers: badAnswer, hidden: {} })))).toEqual([
      'form_response.answers.1.email',
    ]);
  });

  it('reports other event types and a missing form_response', () => {
    expect(paths(issues('typeform', { ...typeformResponse(), event_type: 'form_partial_response' }))).toEqual(
      ['event_type'],
    );
    expect(paths(issues('typeform', { event_type: 'form_response' }))).toEqual(['form_response']);
  });
});
