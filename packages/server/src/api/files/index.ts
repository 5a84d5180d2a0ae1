export { type FileDeps, registerFileRoutes } from './routes.js';
