export * from './diagnostics';
export * from './schema';
export * from './load';
export * from './migrations';
