export { createConsoleApp, type ConsoleDeps, type Principal, type ConsoleLogger } from './app.js';
