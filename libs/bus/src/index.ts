export { InProcessBus, InProcessClient, InProcessServer } from './in-process.transport';
export { NestMessageClient } from './nest-message-client';
export { RpcErrorFilter } from './rpc-error.filter';
export { asOciError } from './as-oci-error';
export { InProcessHealthBoard } from './in-process-health-board';
