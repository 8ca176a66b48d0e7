export * from './spec';
export * from './shape';
export * from './registry';
export * from './blocks/index';
