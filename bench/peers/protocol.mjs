// The measurement every peer page runs, so the numbers mean the same for each framework:
//   1. speed: 3 warm-up steps, then `timedSteps` steps with one read at the end → ms per step;
//   2. decode: one z through the decoder and read back, 20 times after 2 warm-ups → ms each;
//   3. convergence (with ?epochs=N): epochs of 390 steps (batch 128, the steps of 1. counted), the
//      test −ELBO after each, until it is ≤ 110, N epochs pass, or ?budget= seconds of training
//      pass; training time excludes the evaluations.
// The page's #result receives the JSON.
export async function runProtocol({ framework, backend, step, evaluate, decode }) {
  const params = new URLSearchParams(location.search);
  const timedSteps = Number(params.get('steps') ?? 20);
  const epochs = Number(params.get('epochs') ?? 0);
  const budgetMs = Number(params.get('budget') ?? 600) * 1000;
  const stepsPerEpoch = Number(params.get('epochSteps') ?? 390); // shorter only to try the page out
  const result = { framework, backend, steps: timedSteps };
  let last;
  const run = async (n) => {
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      last?.dispose();
      last = step();
    }
    // jax-js's data() consumes the array (TensorFlow.js's does not: one scalar left per call).
    result.lastLoss = (await last.data())[0];
    last = undefined;
    return performance.now() - started;
  };
  let done = 0;
  let trainMs = await run(3);
  done += 3;
  const timed = await run(timedSteps);
  done += timedSteps;
  trainMs += timed;
  result.msPerStep = timed / timedSteps;

  const decodes = [];
  for (let i = 0; i < 22; i += 1) {
    const started = performance.now();
    await decode();
    if (i >= 2) decodes.push(performance.now() - started);
  }
  result.decodeMs = decodes.reduce((a, b) => a + b) / decodes.length;

  result.curve = [];
  for (let epoch = 1; epoch <= epochs; epoch += 1) {
    // In pieces, so a slow framework stops at the budget rather than an epoch later.
    while (done < epoch * stepsPerEpoch && trainMs <= budgetMs) {
      const n = Math.min(50, epoch * stepsPerEpoch - done);
      trainMs += await run(n);
      done += n;
    }
    if (done < epoch * stepsPerEpoch) {
      result.stoppedAt = { step: done, trainMs };
      break;
    }
    const testNegElbo = await evaluate();
    result.curve.push({ epoch, trainMs, testNegElbo });
    if (testNegElbo <= 110) break;
  }
  return result;
}
