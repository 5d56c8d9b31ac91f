export { UploadModule } from './upload.module';
