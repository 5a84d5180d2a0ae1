export { type Config, ConfigError, loadConfig } from './config.js';
export { type RunningServer, type StartOptions, startServer } from './main.js';
export { type Operator, type OperatorKey, openOperator } from './operator.js';
