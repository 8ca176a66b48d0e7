import { isParamRef } from '../document/schema';
import { formatShape } from '../nodes/shape';
import { docComment, lineComment, propertyAccess, propertyKey, stringLiteral, templateText } from './escape';
import { CUSTOM_LAYER_SOURCES, STOCK_LAYER_REPLACEMENTS, type CustomLayerSource } from './generated/layer-sources';
import { withoutDefaults } from './tfjs-defaults';
import { isFillShape, modelNameOf, type BlockStep, type Expr, type LayerStep, type Plan, type PlanBlock, type PlanBody } from './plan';

/**
 * How a body names things: block params are `p.name`, derived ones are local constants. Every
 * document string reaches the output through ./escape, chosen for the place it lands.
 */
interface Scope {
  /** Derived param → its local constant. */
  derived: ReadonlyMap<string, string>;
  /** Template-literal prefix for layer names: `${name}_` inside a block, '' in createModel. */
  inBlock: boolean;
  usesFillShape: { value: boolean };
}

const INDENT = '  ';

export function literal(value: unknown): string {
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NaN';
  if (typeof value === 'boolean' || value === null) return String(value);
  return 'undefined';
}

/** A block param as the emitted function reads it: its local constant when derived, else `p.name`. */
const paramValue = (name: string, scope: Scope) => scope.derived.get(name) ?? propertyAccess('p', name);

function expr(value: Expr, scope: Scope, input: string): string {
  if (isParamRef(value)) return paramValue(value.$param, scope);
  if (isFillShape(value)) {
    const target = value.$fillShape;
    if (Array.isArray(target) && !target.includes(-1)) return expr(target, scope, input);
    scope.usesFillShape.value = true;
    return `fillShape(${input}, ${expr(target, scope, input)})`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => expr(v, scope, input)).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${propertyKey(k)}: ${expr(v, scope, input)}`)
      .join(', ')} }`;
  }
  return literal(value);
}

/**
 * The class a custom layer step constructs. Only a class whose source the export carries may be
 * named, so a plan can never put a name of its own into code.
 */
function customClass(factory: string): string {
  const layer = Object.hasOwn(CUSTOM_LAYER_SOURCES, factory) ? CUSTOM_LAYER_SOURCES[factory] : undefined;
  if (!layer)
    throw new Error(
      `The plan uses the custom layer "${factory}", which has no class in src/runtime/layers (generated sources: ${Object.keys(CUSTOM_LAYER_SOURCES).join(', ')}).`,
    );
  return layer.declares[0]!;
}

/**
 * The class of Patchbay's own that stands in for a tfjs layer, as the app builds it (LayerNormalization
 * → FastLayerNormalization), or none: the export constructs the same class so that it computes the
 * same values and gradients.
 */
function stockReplacement(step: LayerStep): CustomLayerSource | undefined {
  return !step.custom && Object.hasOwn(STOCK_LAYER_REPLACEMENTS, step.factory) ? STOCK_LAYER_REPLACEMENTS[step.factory] : undefined;
}

/** The sources of the classes the plan constructs: custom layers in the order of src/runtime/layers, then stock-layer replacements. */
export function usedLayerSources(plans: readonly Plan[]): CustomLayerSource[] {
  const custom = new Set(plans.flatMap(usedCustomLayers));
  const replaced = new Set<string>();
  for (const plan of plans)
    for (const body of [plan.main, ...plan.blocks.map((b) => b.body)])
      for (const step of body.steps) if (step.kind === 'layer' && stockReplacement(step)) replaced.add(step.factory);
  return [
    ...Object.keys(CUSTOM_LAYER_SOURCES)
      .filter((name) => custom.has(name))
      .map((name) => CUSTOM_LAYER_SOURCES[name]!),
    ...Object.keys(STOCK_LAYER_REPLACEMENTS)
      .filter((factory) => replaced.has(factory))
      .map((factory) => STOCK_LAYER_REPLACEMENTS[factory]!),
  ];
}

/** The custom layer classes the plan constructs, in the order of src/runtime/layers. */
export function usedCustomLayers(plan: Plan): string[] {
  const used = new Set<string>();
  for (const body of [plan.main, ...plan.blocks.map((b) => b.body)]) {
    for (const step of body.steps) if (step.kind === 'layer' && step.custom) used.add(customClass(step.factory));
  }
  return Object.keys(CUSTOM_LAYER_SOURCES).filter((name) => used.has(name));
}

const layerName = (name: string, scope: Scope) => (scope.inBlock ? `\`\${name}_${templateText(name)}\`` : literal(name));

function layerStep(step: LayerStep, scope: Scope, lines: string[], indent: string): void {
  const input = step.inputs.length === 1 ? step.inputs[0]! : `[${step.inputs.join(', ')}]`;
  const config = [
    `name: ${layerName(step.name, scope)}`,
    ...Object.entries(step.custom ? step.config : withoutDefaults(step.factory, step.config)).map(
      ([k, v]) => `${propertyKey(k)}: ${expr(v, scope, step.inputs[0]!)}`,
    ),
  ];
  const replacement = stockReplacement(step);
  const factory = step.custom ? `new ${customClass(step.factory)}` : replacement ? `new ${replacement.declares[0]!}` : `tf.layers.${step.factory}`;
  const call = `${factory}({ ${config.join(', ')} }).apply(${input}) as tf.SymbolicTensor`;
  const comment = step.outputShape ? ` // ${formatShape(step.outputShape)}` : '';
  if (step.when !== undefined) {
    lines.push(`${indent}let ${step.value} = ${step.inputs[0]};`);
    lines.push(`${indent}if (${paramValue(step.when, scope)}) ${step.value} = ${call};`);
  } else {
    lines.push(`${indent}const ${step.value} = ${call};${comment}`);
  }
}

function blockStep(step: BlockStep, block: PlanBlock, scope: Scope, lines: string[], indent: string): void {
  const entries = Object.entries(step.args).map(([k, v]) => `${propertyKey(k)}: ${expr(v, scope, step.inputs[0]!)}`);
  const args = entries.length ? `{ ${entries.join(', ')} }` : '{}';
  const outputs = Object.entries(step.outputs);
  const comment = step.outputShape ? ` // ${formatShape(step.outputShape)}` : '';
  if (step.repeat > 1) {
    // Repeated blocks have one input and one output (the compiler checks).
    const value = outputs[0]![1];
    const name = scope.inBlock ? `\`\${name}_${templateText(step.name)}_\${i}\`` : `\`${templateText(step.name)}_\${i}\``;
    lines.push(`${indent}let ${value} = ${step.inputs[0]};`);
    lines.push(`${indent}for (let i = 0; i < ${step.repeat}; i++) {`);
    lines.push(`${indent}${INDENT}${value} = ${block.fnName}(${value}, ${args}, ${name});`);
    lines.push(`${indent}}${comment}`);
    return;
  }
  const name = scope.inBlock ? `\`\${name}_${templateText(step.name)}\`` : literal(step.name);
  const call = `${block.fnName}(${step.inputs.join(', ')}, ${args}, ${name})`;
  if (outputs.length === 1) lines.push(`${indent}const ${outputs[0]![1]} = ${call};${comment}`);
  else lines.push(`${indent}const { ${outputs.map(([port, v]) => `${propertyKey(port)}: ${v}`).join(', ')} } = ${call};`);
}

function bodyLines(body: PlanBody, blocks: Map<string, PlanBlock>, scope: Scope, indent: string): string[] {
  const lines: string[] = [];
  for (const step of body.steps) {
    switch (step.kind) {
      case 'input': {
        const dtype = step.dtype === 'float32' ? '' : `, dtype: '${step.dtype}'`;
        lines.push(`${indent}const ${step.value} = tf.input({ name: ${literal(step.name)}, shape: ${expr(step.shape, scope, '')}${dtype} });`);
        break;
      }
      case 'blockInput':
        break;
      case 'layer':
        layerStep(step, scope, lines, indent);
        break;
      case 'block':
        blockStep(step, blocks.get(step.block)!, scope, lines, indent);
        break;
    }
  }
  return lines;
}

function paramType(param: PlanBlock['params'][number]): string {
  switch (param.kind) {
    case 'int':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'enum':
      return (param.options ?? []).map(literal).join(' | ') || 'string';
  }
}

function docLines(text: string, indent = ''): string[] {
  return text ? [`${indent}/** ${docComment(text)} */`] : [];
}

export function blockFunction(block: PlanBlock, blocks: Map<string, PlanBlock>, usesFillShape: { value: boolean }): string[] {
  const set = block.params.filter((p) => !p.derive);
  const derived = block.params.filter((p) => p.derive);
  const lines: string[] = [];
  lines.push(...docLines(`Params of the "${block.label}" block.`));
  if (set.length === 0) lines.push(`export type ${block.typeName} = Record<string, never>;`);
  else {
    lines.push(`export interface ${block.typeName} {`);
    for (const p of set) {
      lines.push(...docLines(p.description ?? '', INDENT));
      lines.push(`${INDENT}${propertyKey(p.name)}: ${paramType(p)};`);
    }
    lines.push('}');
  }
  lines.push('');
  const inputs = block.body.steps.flatMap((s) => (s.kind === 'blockInput' ? [s] : []));
  const outputs = block.body.outputs;
  const returnType = outputs.length === 1 ? 'tf.SymbolicTensor' : `{ ${outputs.map((o) => `${propertyKey(o.name)}: tf.SymbolicTensor`).join('; ')} }`;
  lines.push(...docLines(`${block.label}: ${block.description}`));
  lines.push(
    `export function ${block.fnName}(${inputs.map((s) => `${s.value}: tf.SymbolicTensor`).join(', ')}, p: ${block.typeName}, name: string): ${returnType} {`,
  );
  for (const p of derived) {
    // The compiler refuses a derive from an input the block does not have, so `input` is always one of ours.
    const input = inputs.find((s) => s.port === p.derive!.input)!.value;
    const axis = p.derive!.axis < 0 ? `${input}.shape.length - ${-p.derive!.axis}` : String(p.derive!.axis);
    lines.push(`${INDENT}const ${block.derivedNames[p.name]} = ${input}.shape[${axis}] as number;`);
  }
  const scope: Scope = { derived: new Map(Object.entries(block.derivedNames)), inBlock: true, usesFillShape };
  lines.push(...bodyLines(block.body, blocks, scope, INDENT));
  lines.push(
    outputs.length === 1
      ? `${INDENT}return ${outputs[0]!.value};`
      : `${INDENT}return { ${outputs.map((o) => `${propertyKey(o.name)}: ${o.value}`).join(', ')} };`,
  );
  lines.push('}');
  return lines;
}

export const FILL_SHAPE_HELPER = [
  '/**',
  " * Fills the -1 axis of a Reshape target from the input shape. tfjs's Reshape keeps -1 in its",
  ' * symbolic output shape while the batch size is unknown, which breaks the layers after it.',
  ' */',
  'function fillShape(input: tf.SymbolicTensor, target: number[]): number[] {',
  '  const total = input.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);',
  '  const known = target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);',
  '  return target.map((d) => (d === -1 ? total / known : d));',
  '}',
];

export const thousands = (n: number) => n.toLocaleString('en-US');

/**
 * The function that builds one plan's model: `createModel` for a plain export, `createProjector`…
 * for a program's other networks. `blocks` holds the block functions the module declares.
 */
export function modelFunction(plan: Plan, fnName: string, doc: string, blocks: ReadonlyMap<string, PlanBlock>, usesFillShape: { value: boolean }): string {
  const scope: Scope = { derived: new Map(), inBlock: false, usesFillShape };
  const main = bodyLines(plan.main, blocks as Map<string, PlanBlock>, scope, INDENT);
  const inputs = plan.main.steps.flatMap((s) => (s.kind === 'input' ? [s.value] : []));
  const outputs = plan.main.outputs.map((o) => o.value);
  const list = (xs: string[]) => (xs.length === 1 ? xs[0]! : `[${xs.join(', ')}]`);
  return [
    `/** ${doc} */`,
    `export function ${fnName}(): tf.LayersModel {`,
    ...main,
    `${INDENT}return tf.model({ name: ${literal(modelNameOf(plan.name))}, inputs: ${list(inputs)}, outputs: ${list(outputs)} });`,
    '}',
  ].join('\n');
}

/** Writes one self-contained, readable TypeScript module that rebuilds the plan's model. */
export function emit(plan: Plan): string {
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const usesFillShape = { value: false };
  const blockSections = plan.blocks.map((b) => blockFunction(b, blocks, usesFillShape).join('\n'));
  const model = modelFunction(
    plan,
    'createModel',
    `Builds "${docComment(plan.name)}" (uncompiled: choose the optimizer and loss with model.compile).`,
    blocks,
    usesFillShape,
  );

  const header = [
    `// Generated by Patchbay from the graph "${lineComment(plan.source.name)}" (${plan.source.format}, document version ${plan.source.version}).`,
    '// It needs only @tensorflow/tfjs: createModel() rebuilds the same layers, names and parameter counts.',
    `// Trainable params: ${thousands(plan.count.trainable)}. Non-trainable params: ${thousands(plan.count.nonTrainable)}.`,
    '',
    "import * as tf from '@tensorflow/tfjs';",
  ];
  const sections = [header.join('\n')];
  // Layers tfjs lacks travel with the model as their own classes, so the module needs only tfjs.
  sections.push(...usedLayerSources([plan]).map((layer) => layer.source));
  if (usesFillShape.value) sections.push(FILL_SHAPE_HELPER.join('\n'));
  sections.push(...blockSections);
  sections.push(model);
  return `${sections.join('\n\n')}\n`;
}
