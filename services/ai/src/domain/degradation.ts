/**
 * The degradation level (the design's levels L0 to L5,
 * docs/design/README.md#degradation-levels, mapped onto Parley's
 * dependencies), computed from live health, never set by hand:
 *
 * | level | trigger                                   | what the AI does                          |
 * | ----- | ----------------------------------------- | ----------------------------------------- |
 * | L0    | everything healthy                        | cache, then the models                    |
 * | L1    | model errors or slow answers              | templates first, models only when healthy, a human sooner |
 * | L2    | knowledge retrieval down                  | answers without retrieval (no RAG)        |
 * | L3    | backend (CRM/ERP, the tools' systems) down| answers, takes no actions (no tools)      |
 * | L4    | two or more of models, knowledge, backend | human-only: every question goes to a person |
 * | L5    | all three down, or models down and no human can take over | callback queue           |
 */
export const LEVELS = ['L0', 'L1', 'L2', 'L3', 'L4', 'L5'] as const;
export type DegradationLevel = (typeof LEVELS)[number];

/** A dependency check: resolves when up, throws (or resolves false) when down. */
export type HealthCheck = () => Promise<boolean | void>;

/** The systems a level is computed from, besides the models. */
export interface DegradationChecks {
  /** Knowledge retrieval (the embedding service). Absent: not in use, counted as up. */
  knowledge?: HealthCheck;
  /** The systems behind the assistant's actions (CRM/ERP). Absent: counted as up. */
  backend?: HealthCheck;
  /** Whether a human can take over (the HITL service). Absent: counted as up. */
  humans?: HealthCheck;
}

/** Options for {@link DegradationManager}. */
export interface DegradationOptions {
  checks?: DegradationChecks;
  /** True when every model provider is cooling down (none could answer now). */
  modelsDown?: () => Promise<boolean>;
  /** How far back model outcomes count. @default 60000 */
  windowMs?: number;
  /**
   * Share of failed model attempts in the window that degrades to L1 (the
   * design's degradation trigger: 20 % failing). @default 0.2
   */
  errorRateThreshold?: number;
  /**
   * Models count as degraded by their error rate only while a failure is this
   * recent: after a fault clears, the level returns to L0 once this long
   * passes without a failure, not when the whole window has aged out (the
   * design's target: recovery within 30 s). @default 15000
   */
  recoveryMs?: number;
  /**
   * Median answer time in the window above which models count as degraded
   * (the design's L1 trigger: LLM latency over 5 s). @default 5000
   */
  slowAnswerMs?: number;
  /** How often the checks run. @default 10000 */
  intervalMs?: number;
  /** Time allowed for one check. @default 2000 */
  checkTimeoutMs?: number;
  now?: () => number;
  onChange?: (next: DegradationLevel, previous: DegradationLevel, reasons: string[]) => void;
  /** Called after every assessment with the status (the status board's report). */
  onAssess?: (status: DegradationStatus) => void;
}

/** The level and why. */
export interface DegradationStatus {
  level: DegradationLevel;
  reasons: string[];
  /** Model attempts and failures in the window, and their median answer time. */
  models: { attempts: number; failures: number; medianMs: number | null; down: boolean };
  systems: { knowledge: boolean; backend: boolean; humans: boolean };
}

interface Outcome {
  at: number;
  ok: boolean;
  ms: number;
}

/**
 * Computes the degradation level from model outcomes (recorded as they
 * happen) and dependency checks (polled every `intervalMs`). The level is
 * recomputed on every outcome, so the first failure moves it at once, and it
 * returns to L0 by itself as failures age out of the window and checks pass.
 */
export class DegradationManager {
  private readonly opts: Required<
    Omit<DegradationOptions, 'onChange' | 'onAssess' | 'modelsDown'>
  > &
    Pick<DegradationOptions, 'onChange' | 'onAssess' | 'modelsDown'>;
  private outcomes: Outcome[] = [];
  private systems = { knowledge: true, backend: true, humans: true };
  private allModelsDown = false;
  private current: DegradationLevel = 'L0';
  private reasons: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: DegradationOptions = {}) {
    this.opts = {
      checks: {},
      windowMs: 60_000,
      errorRateThreshold: 0.2,
      recoveryMs: 15_000,
      slowAnswerMs: 5_000,
      intervalMs: 10_000,
      checkTimeoutMs: 2_000,
      now: () => Date.now(),
      ...options,
    };
  }

  get level(): DegradationLevel {
    return this.current;
  }

  /** One model attempt: a provider answered (`ok`) or failed, after `ms`. */
  record(ok: boolean, ms: number): void {
    this.outcomes.push({ at: this.opts.now(), ok, ms });
    if (this.outcomes.length > 1_000) this.outcomes.splice(0, this.outcomes.length - 1_000);
    this.recompute();
  }

  /** Runs every check once and recomputes the level. */
  async assess(): Promise<DegradationStatus> {
    const { checks } = this.opts;
    const [knowledge, backend, humans, modelsDown] = await Promise.all([
      this.probe(checks.knowledge),
      this.probe(checks.backend),
      this.probe(checks.humans),
      this.opts.modelsDown?.().catch(() => false) ?? Promise.resolve(false),
    ]);
    this.systems = { knowledge, backend, humans };
    this.allModelsDown = modelsDown;
    this.recompute();
    const status = this.status();
    this.opts.onAssess?.(status);
    return status;
  }

  status(): DegradationStatus {
    const window = this.window();
    const times = window.filter((o) => o.ok).map((o) => o.ms);
    return {
      level: this.current,
      reasons: [...this.reasons],
      models: {
        attempts: window.length,
        failures: window.filter((o) => !o.ok).length,
        medianMs: times.length ? median(times) : null,
        down: this.allModelsDown,
      },
      systems: { ...this.systems },
    };
  }

  /** Polls the checks every `intervalMs` (unref'd) until {@link stop}. */
  start(): void {
    if (this.timer) return;
    void this.assess();
    this.timer = setInterval(() => void this.assess(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private window(): Outcome[] {
    const since = this.opts.now() - this.opts.windowMs;
    this.outcomes = this.outcomes.filter((o) => o.at >= since);
    return this.outcomes;
  }

  private recompute(): void {
    const window = this.window();
    const failures = window.filter((o) => !o.ok).length;
    const times = window.filter((o) => o.ok).map((o) => o.ms);
    const reasons: string[] = [];
    const modelsDown = this.allModelsDown;
    const lastFailure = window.findLast((o) => !o.ok)?.at ?? Number.NEGATIVE_INFINITY;
    const failingNow = this.opts.now() - lastFailure < this.opts.recoveryMs;
    const modelsDegraded =
      modelsDown ||
      (failingNow &&
        window.length > 0 &&
        failures / window.length >= this.opts.errorRateThreshold) ||
      (times.length > 0 && median(times) > this.opts.slowAnswerMs);
    if (modelsDown) reasons.push('every model provider is cooling down');
    else if (modelsDegraded)
      reasons.push(
        failures > 0
          ? `${failures} of ${window.length} model attempts failed in the last ${this.opts.windowMs / 1000} s`
          : `median model answer over ${this.opts.slowAnswerMs} ms`,
      );
    if (!this.systems.knowledge) reasons.push('knowledge retrieval is down');
    if (!this.systems.backend) reasons.push('backend systems are down');
    if (!this.systems.humans) reasons.push('no human can take over');

    // Models count as "down" for L4/L5 once they fail more often than not.
    const modelsOut =
      modelsDown || (failingNow && window.length >= 3 && failures / window.length > 0.5);
    const out = [modelsOut, !this.systems.knowledge, !this.systems.backend].filter(Boolean).length;
    const level: DegradationLevel =
      out >= 3 || (modelsOut && !this.systems.humans)
        ? 'L5'
        : out >= 2
          ? 'L4'
          : !this.systems.backend
            ? 'L3'
            : !this.systems.knowledge
              ? 'L2'
              : modelsDegraded
                ? 'L1'
                : 'L0';
    this.reasons = reasons;
    if (level !== this.current) {
      const previous = this.current;
      this.current = level;
      this.opts.onChange?.(level, previous, reasons);
    }
  }

  private async probe(check: HealthCheck | undefined): Promise<boolean> {
    if (!check) return true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        check(),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.opts.checkTimeoutMs);
        }),
      ]);
      return result !== false;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The level as a number (the `ai_degradation_level` metric). */
export function levelNumber(level: DegradationLevel): number {
  return LEVELS.indexOf(level);
}
