import { describe, expect, it } from 'vitest';
import {
  STATUS_TEMPLATES,
  STATUS_TEMPLATE_NAMES,
  STATUS_TEMPLATE_PARAMS,
  isStatusTemplateName,
  renderStatusTemplate,
} from './index.js';

const AT = new Date('2026-11-26T09:41:00Z');

describe('status templates', () => {
  it('fills the playbook texts with their parameters and the time', () => {
    expect(renderStatusTemplate('investigating', {}, AT)).toBe(
      '[OUTAGE] Parley chat: service disruption\n\nWe are experiencing a disruption of the chat service. ' +
        'Our team is investigating and working to restore service as quickly as possible. ' +
        'Messages you send are kept and will be answered once service is restored.\n\n' +
        'We will post updates as we learn more.\n\nTime: 2026-11-26T09:41:00.000Z',
    );
    expect(renderStatusTemplate('update', { subject: 'slow answers', eta: '30 minutes' }, AT)).toBe(
      '[UPDATE] Parley chat: slow answers\n\nWe have identified the cause and are restoring service. ' +
        'We expect full service within 30 minutes.\n\nTime: 2026-11-26T09:41:00.000Z',
    );
    expect(
      renderStatusTemplate('resolved', { cause: 'a full disk', resolution: 'adding space' }, AT),
    ).toContain('It was caused by a full disk and resolved by adding space.');
  });

  it('keeps the positional forms parley-dr uses, with the same texts', () => {
    expect(STATUS_TEMPLATES.progress('1 hour', AT)).toBe(
      renderStatusTemplate('update', { eta: '1 hour' }, AT),
    );
    expect(STATUS_TEMPLATES.failover('us-east', 'us-west-dr', AT)).toContain(
      'The us-east region is unavailable. Conversations continue from us-west-dr;',
    );
    expect(STATUS_TEMPLATES.resolved('x', 'y', AT)).toMatch(/^\[RESOLVED\] Parley chat/);
  });

  it('names every template and the parameters each one requires', () => {
    expect(STATUS_TEMPLATE_NAMES.every(isStatusTemplateName)).toBe(true);
    expect(isStatusTemplateName('apology')).toBe(false);
    expect(STATUS_TEMPLATE_PARAMS.resolved).toEqual(['cause', 'resolution']);
  });
});
