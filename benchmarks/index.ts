// Public surface of @halo/benchmarks: each benchmark area re-exports here.
export {};
