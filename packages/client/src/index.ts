export { HangarApiError } from './errors.js';
export { type ClientOptions, HttpTransport, type Query, type RequestOptions } from './http.js';
export { createHangarClient, type HangarClient } from './client.js';
