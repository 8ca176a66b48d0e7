export * from './graph';
export * from './infer';
export * from './lower';
export * from './plan';
export * from './emit';
export * from './summary';
export * from './memory';
export { docComment, isPlainIdentifier, lineComment, propertyAccess, propertyKey, RESERVED_WORDS, stringLiteral, templateText, visible } from './escape';
export { loadGraph } from './load-graph';
