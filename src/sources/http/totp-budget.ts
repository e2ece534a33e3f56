/**
 * How many wrong TOTP codes a door takes per 30 s step, from all clients together: rotating
 * addresses (or a proxy's X-Forwarded-For) can dodge any per-client limit, so the budget that
 * bounds guessing is the door's. `perStep` wrong codes per step while calm; once a step's
 * budget is used up the door is "under attack" and takes `underAttack` wrong codes per step
 * until `calmSteps` steps in a row stay within that. A right code is never counted, and is
 * accepted while the step has budget left: the worst case is `underAttack` guesses per step
 * (2,880 a day with the defaults), and a legitimate code gets in at the latest at the next
 * step after an attack stops. Pure: steps are passed in.
 */
export class TotpFailureBudget {
  private readonly doors = new Map<string, { step: number; failures: number; attack: boolean; calm: number }>();

  constructor(
    readonly perStep = 3,
    readonly underAttack = 1,
    readonly calmSteps = 10,
  ) {}

  /** Whether `door` may check one more code in `step`. */
  allows(door: string, step: number): boolean {
    const s = this.state(door, step);
    return s.failures < (s.attack ? this.underAttack : this.perStep);
  }

  /** Counts a wrong code for `door` in `step`. */
  fail(door: string, step: number): void {
    const s = this.state(door, step);
    s.failures++;
    if (s.failures >= (s.attack ? this.underAttack : this.perStep)) {
      s.attack = true;
      s.calm = 0;
    }
  }

  /** Seconds until `door` takes codes again (the next step), for Retry-After. */
  retryAfterS(nowMs: number, stepMs: number): number {
    return Math.max(1, Math.ceil((stepMs - (nowMs % stepMs)) / 1000));
  }

  private state(door: string, step: number) {
    let s = this.doors.get(door);
    if (!s) {
      s = { step, failures: 0, attack: false, calm: 0 };
      this.doors.set(door, s);
    }
    if (step > s.step) {
      // steps that passed without using up their budget count as calm (a skipped step too)
      const exhausted = s.failures >= (s.attack ? this.underAttack : this.perStep);
      const passed = step - s.step - (exhausted ? 1 : 0);
      if (s.attack) {
        s.calm = exhausted ? passed : s.calm + passed;
        if (s.calm >= this.calmSteps) s.attack = false;
      }
      s.step = step;
      s.failures = 0;
    }
    return s;
  }
}
