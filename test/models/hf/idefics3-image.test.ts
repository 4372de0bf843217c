// Idefics3 pre-processing as preprocessor_config.json says: longest-edge resize, tiling, the
// global frame, rescale and normalisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idefics3ImageConfig, idefics3ImagePrompt, preprocessIdefics3 } from '../../../src/models/hf/idefics3-image.js';
import { readJsonFile } from '../../../src/models/hf/folder.js';

const PRE_FILE = 'fixtures/hf/tiny-smolvlm/preprocessor_config.json';
const config = idefics3ImageConfig(readJsonFile(PRE_FILE), PRE_FILE);

const solid = (width: number, height: number, value: number) => ({ width, height, rgb: new Uint8Array(width * height * 3).fill(value) });

test('the tiny folder config: longest edge 64, 32-pixel tiles, splitting, mean and std 0.5', () => {
  assert.deepEqual(config, { longestEdge: 64, tileSize: 32, split: true, rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
});

test('a wide image becomes a row of tiles plus the global frame; pixels map to [-1, 1]', () => {
  const frames = preprocessIdefics3(solid(200, 50, 255), config);
  // 200×50 → longest edge 64: 64×16 → whole tiles: 64×32 → 1 row × 2 columns + global.
  assert.deepEqual([frames.rows, frames.cols, frames.frames], [1, 2, 3]);
  assert.equal(frames.pixels.length, 3 * 3 * 32 * 32);
  assert.ok(frames.pixels.every((v) => Math.abs(v - 1) < 1e-6));
  const black = preprocessIdefics3(solid(10, 40, 0), config);
  assert.deepEqual([black.rows, black.cols, black.frames], [2, 1, 3]);
  assert.ok(black.pixels.every((v) => v === -1));
});

test('SmolVLM-256M’s settings (longest edge 2048, 512-px tiles) cut a 1920×1080 image into 3 × 4 tiles plus the global view', () => {
  const real = { ...config, longestEdge: 2048, tileSize: 512 };
  const frames = preprocessIdefics3(solid(1920, 1080, 128), real);
  assert.deepEqual([frames.rows, frames.cols, frames.frames], [3, 4, 13]);
  // A small image is scaled up to the longest edge first: 4 × 4 tiles.
  assert.deepEqual(preprocessIdefics3(solid(100, 100, 128), real).frames, 17);
});

test('without splitting, or for an image of one tile, there is one frame and no grid', () => {
  assert.deepEqual(preprocessIdefics3(solid(300, 200, 9), { ...config, split: false }).frames, 1);
  const small = preprocessIdefics3(solid(20, 20, 9), { ...config, longestEdge: 32 });
  assert.deepEqual([small.rows, small.cols, small.frames], [0, 0, 1]);
});

test('the prompt expansion: a marker per tile, rows ended by newlines, then the global image', () => {
  assert.equal(idefics3ImagePrompt(0, 0, 2), '<fake_token_around_image><global-img><image><image><fake_token_around_image>');
  assert.equal(
    idefics3ImagePrompt(1, 2, 1),
    '<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n\n<fake_token_around_image><global-img><image><fake_token_around_image>',
  );
});

test('a preprocessor config without max_image_size is an error naming the file and key', () => {
  assert.throws(
    () => idefics3ImageConfig({ size: { longest_edge: 64 } }, 'x/preprocessor_config.json'),
    /x\/preprocessor_config\.json: expected a number at max_image_size\.longest_edge/,
  );
});
