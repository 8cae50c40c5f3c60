/** The Kustomization reconciler: Flux's steps over the apply engine, on the runtime's reconcile shape. */
export * from './reconcile.ts';
export * from './finalize.ts';
export * from './remote.ts';
export * from './spec.ts';
