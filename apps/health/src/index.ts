export { HealthModule } from './health.module';
export { StorageHealthService } from './storage-health.service';
