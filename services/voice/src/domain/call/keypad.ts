import type { CallSettings } from './types.js';

/** What the caller's keys ask of the session. */
export interface KeypadActions {
  /** 0 as the first key: the caller asks for an agent. */
  agent(): void;
  /** `*`: the last reply again. */
  repeat(): void;
  /** A digit was pressed: the caller is keying in. */
  keying(): void;
  /** The digits keyed in, ended by `#` or a pause. */
  send(digits: string): void;
}

/**
 * The caller's keys (DTMF): 0 asks for an agent, `*` repeats, digits are
 * collected (the last 32) until `#` or a pause of `digitTimeoutMs`. Any
 * other key only cancels that pause.
 */
export class Keypad {
  private digits = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: Pick<CallSettings, 'digitTimeoutMs'>,
    private readonly actions: KeypadActions,
  ) {}

  /** A key the caller pressed. */
  press(key: string): void {
    clearTimeout(this.timer);
    if (key === '0' && this.digits === '') return this.actions.agent();
    if (key === '*') return this.actions.repeat();
    if (key === '#') return this.send();
    if (/^[0-9]$/.test(key)) {
      this.actions.keying();
      this.digits = (this.digits + key).slice(-32);
      this.timer = setTimeout(() => this.send(), this.settings.digitTimeoutMs ?? 3_000);
    }
  }

  end(): void {
    clearTimeout(this.timer);
  }

  private send(): void {
    clearTimeout(this.timer);
    if (!this.digits) return;
    const keyed = this.digits;
    this.digits = '';
    this.actions.send(keyed);
  }
}
