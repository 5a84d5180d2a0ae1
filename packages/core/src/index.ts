export * from './domain.js';
export * from './errors.js';
export * from './ids.js';
export * from './ports.js';
