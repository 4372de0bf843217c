// scripts/gpu-check.sh step 2: opens one onnxruntime session on the CUDA execution provider
// alone (no CPU fallback, unlike the executors) and says whether it loaded. Exit 1 if not.
//   node --import tsx scripts/gpu-check-cuda.ts <model.onnx>
import * as ort from 'onnxruntime-node';
import { probeProviders } from '../src/runtime/executor/execution-provider.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: gpu-check-cuda.ts <model.onnx>\n');
  process.exit(2);
}
if (!probeProviders().cudaProviderLibrary) {
  process.stderr.write(
    'this onnxruntime-node install has no CUDA provider library (libonnxruntime_providers_cuda.so): it was installed with the CUDA download skipped\n',
  );
  process.exit(1);
}
try {
  const session = await ort.InferenceSession.create(path, { executionProviders: [{ name: 'cuda', deviceId: 0 }] });
  process.stderr.write(`CUDA execution provider loaded ${path} (inputs ${session.inputNames.join(', ')})\n`);
  await session.release();
} catch (err) {
  process.stderr.write(`the CUDA execution provider could not load ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
