// Every tiny HF-layout model folder the project builds, by the name of its folder under
// fixtures/hf/ (written by `npm run gen:hf-tiny`).
import { writeTinySmolVlm } from './tiny-smolvlm.js';

export const HF_TINY_MODELS: Record<string, (dir: string) => { path: string; bytes: number }[]> = {
  'tiny-smolvlm': (dir) => writeTinySmolVlm(dir),
};
