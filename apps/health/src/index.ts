export { HealthModule } from './health.module';
export { HealthChecksService } from './health-checks.service';
