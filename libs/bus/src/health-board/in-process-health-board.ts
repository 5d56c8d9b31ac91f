import type { HealthBoard, HealthReport } from '@berth/contracts';

/** The embedded mode's health board: the health service and the gateway share one process. */
export class InProcessHealthBoard implements HealthBoard {
  private report: HealthReport | undefined;

  async publish(report: HealthReport): Promise<void> {
    this.report = report;
  }

  async current(): Promise<HealthReport | undefined> {
    return this.report;
  }
}
