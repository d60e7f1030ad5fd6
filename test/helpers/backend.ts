// Switch the global tfjs backend inside a test file (wasm and cpu are both available offline).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../../nas/backend.js';

export const TEST_BACKENDS: BackendName[] = ['wasm', 'cpu'];

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not activate`);
}
