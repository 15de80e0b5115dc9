// TEMPORARY: the wasm-kernels helper replaces this file with the real registrations.
export function registerWasmGradientKernels(): void {}
