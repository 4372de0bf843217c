// Every tiny HF-layout model folder the project builds, by the name of its folder under
// fixtures/hf/ (written by `npm run gen:hf-tiny`).
import { writeTinySmolVlm } from './tiny-smolvlm.js';
import { writeTinyWhisper } from './tiny-whisper.js';

export const HF_TINY_MODELS: Record<string, (dir: string) => { path: string; bytes: number }[]> = {
  'tiny-smolvlm': (dir) => writeTinySmolVlm(dir),
  'tiny-whisper': (dir) => writeTinyWhisper(dir),
};
