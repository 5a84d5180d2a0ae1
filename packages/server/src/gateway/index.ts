export { cachedAppLookup } from './app-cache.js';
export type { GatewayContext, GatewayTarget } from './context.js';
export type { AppLookup, GatewayDeps, GatewayLogger, WebhookOptions } from './deps.js';
export { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';
export {
  createNetGuard,
  type GuardedTarget,
  type NetGuard,
  NetGuardError,
  type NetPolicy,
  pinnedLookup,
} from './net-guard.js';
export { mapProxyTarget } from './proxy.js';
export { registerRealtime } from './realtime-routes.js';
export { createTimeOrderedIds } from './request-ids.js';
export { webhookBody } from './webhook.js';
export {
  createWebhookSigner,
  type Jwks,
  verifyWebhookSignature,
  type WebhookSigner,
  webhookSigningInput,
} from './webhook-signer.js';
