export * from './manifest.contract';
export * from './upload.contract';
export * from './service-client';
export * from './health.contract';
export * from './link-cache.contract';
export * from './job-scheduler.contract';
export { withTimeout } from './with-timeout';
export * from './login-throttle.contract';
export * from './collection-fence.contract';
