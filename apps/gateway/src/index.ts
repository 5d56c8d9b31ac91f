export { GatewayModule } from './gateway.module';
export { sendUndecodablePath } from './http-answers';
export { answerUnparsedRequest } from './unparsed-request';
