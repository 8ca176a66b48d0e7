// tfjs-backend-wasm ships the pthread worker script as a CommonJS module holding its source text,
// without a declaration file of its own.
declare module '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js' {
  const workerModule: { wasmWorkerContents: string };
  export default workerModule;
}
