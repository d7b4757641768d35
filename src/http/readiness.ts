/**
 * What /readyz asks: each part that must be up before the gateway takes traffic registers a named
 * check (a link, a store client). Ready means every check passes and the process is not draining.
 */
export type ReadinessCheck = () => boolean;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private draining = false;

  register(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.checks.set(name, check);
  }

  markDraining(): void {
    this.draining = true;
  }

  report(): ReadinessReport {
    const checks: Record<string, boolean> = { notDraining: !this.draining };
    let ready = !this.draining;
    for (const [name, check] of this.checks) {
      let passed = false;
      try {
        passed = check();
      } catch {
        passed = false;
      }
      checks[name] = passed;
      if (!passed) ready = false;
    }
    return { ready, checks };
  }
}
