import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EmergencyDetector, emergencyAnswer, emergencyTicketId } from './emergency.js';

const detector = new EmergencyDetector();

describe('EmergencyDetector', () => {
  it('flags incidents with business impact or urgency (40 points or more)', () => {
    expect(detector.score('Our server is down and we are losing money!').emergency).toBe(true);
    expect(detector.score('The site is slow and we are losing money').emergency).toBe(false);
    expect(detector.score('Server down, we are losing money').score).toBe(55);
    expect(detector.score('URGENT: we got hacked').emergency).toBe(true);
    expect(detector.score('ransomware on all machines').emergency).toBe(true);
    expect(detector.score('Production is down, emergency!!!')).toMatchObject({
      emergency: true,
      score: 60,
    });
  });

  it('leaves ordinary questions alone', () => {
    for (const text of [
      'What are your opening hours?',
      'How do I get a refund?',
      'Is this urgent delivery option available?',
      'The antivirus subscription renewal price?',
    ])
      expect(detector.score(text).emergency, text).toBe(false);
  });

  it('matches whole words only and counts each phrase once', () => {
    expect(detector.score('viruses and antivirus').matched).toEqual([]);
    expect(detector.score('urgent urgent urgent urgent').score).toBe(15);
  });

  it('adds points for shouting', () => {
    expect(detector.score('THIS IS AN OUTAGE PLEASE HELP').score).toBe(30);
  });

  it('never throws and stays bounded on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10_000 }), (text) => {
        const { score, emergency } = detector.score(text);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(emergency).toBe(score >= 40);
      }),
      { numRuns: 300 },
    );
  });
});

describe('emergency answers', () => {
  it('gives a dated, unique-looking ticket id and the contact', () => {
    const id = emergencyTicketId(new Date('2026-11-25T10:00:00Z'), () => 0);
    expect(id).toBe('EMG-20261125-222222');
    expect(emergencyTicketId()).toMatch(/^EMG-\d{8}-[2-9A-Z]{6}$/);
    expect(emergencyAnswer(id, '+1 555 0100')).toContain('EMG-20261125-222222');
  });
});
