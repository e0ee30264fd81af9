// What every probe page shares: a device (with subgroups when offered), seeded data, and timing
// of submits that are waited for, after a first run that includes the pipeline's compilation.

export async function device() {
  const adapter = await navigator.gpu.requestAdapter();
  const requiredFeatures = adapter.features.has('subgroups') ? ['subgroups'] : [];
  const gpu = await adapter.requestDevice({ requiredFeatures });
  gpu.addEventListener('uncapturederror', (event) => {
    throw new Error(`WebGPU error: ${event.error.message}`);
  });
  const info = adapter.info;
  console.log(`adapter: ${info.vendor} ${info.architecture}, subgroups ${info.subgroupMinSize}-${info.subgroupMaxSize}`);
  const lanes = requiredFeatures.length && info.subgroupMinSize === info.subgroupMaxSize ? info.subgroupMinSize : 0;
  return { gpu, lanes };
}

/** Uniform values in [-0.5, 0.5) from a fixed LCG: every run multiplies the same numbers. */
export function seeded(count, seed) {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 4294967296 - 0.5;
  }
  return values;
}

export function storage(gpu, data) {
  const buffer = gpu.createBuffer({
    size: data.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  gpu.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

export async function readBack(gpu, buffer) {
  const staging = gpu.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = gpu.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  gpu.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

/** A function that records one dispatch of `code` over `buffers` (bindings 0, 1, … in order). */
export function kernel(gpu, code, buffers) {
  const pipeline = gpu.createComputePipeline({
    layout: 'auto',
    compute: { module: gpu.createShaderModule({ code }), entryPoint: 'main' },
  });
  const bindGroup = gpu.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return (encoder, x, y = 1) => {
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  };
}

/** Median milliseconds of `repeats` submits of `record` each waited for, and the first one's. */
export async function time(gpu, record, repeats) {
  const once = async () => {
    const start = performance.now();
    const encoder = gpu.createCommandEncoder();
    record(encoder);
    gpu.queue.submit([encoder.finish()]);
    await gpu.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  const first = await once();
  const times = [];
  for (let i = 0; i < repeats; i += 1) times.push(await once());
  times.sort((a, b) => a - b);
  return { first, median: times[Math.floor(times.length / 2)] };
}
