import { loadDocumentText, type LoadResult } from '../document/load';
import { nodeTypeLookup } from '../nodes/registry';

export * from './graph';
export * from './infer';
export * from './lower';
export * from './plan';
export * from './emit';
export * from './summary';
export * from './memory';
export { docComment, isPlainIdentifier, lineComment, propertyAccess, propertyKey, RESERVED_WORDS, stringLiteral, templateText, visible } from './escape';

/** Loads a saved document with every node type this Patchbay knows. Never throws. */
export function loadGraph(text: string): LoadResult {
  return loadDocumentText(text, { nodeTypes: nodeTypeLookup });
}
