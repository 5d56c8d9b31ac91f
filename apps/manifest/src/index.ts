export { ManifestModule } from './manifest.module';
